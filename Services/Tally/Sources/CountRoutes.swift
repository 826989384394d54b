import Foundation
import Hummingbird
import Models
import Postgres
import ServiceSupport
import Store

/// The count API: `GET /v1/petitions/{slug}/count` and `GET /v1/petitions`.
struct CountRoutes {
    let pool: PostgresPool

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/v1/petitions/:slug/count") { _, context in
            let slug = context.parameters.get("slug") ?? ""
            let result = try await pool.withConnection { connection -> (Petition, PetitionCount)? in
                guard let petition = try Petitions.find(slug: slug, on: connection) else { return nil }
                return (petition, try Counts.read(petitionID: petition.id, on: connection))
            }
            guard let (petition, count) = result else {
                throw Problem(.notFound, title: "No such petition", detail: "there is no petition \(slug.prefix(64))", field: "slug")
            }
            var object: [String: Any] = ["petition": petition.slug, "total": count.total, "by_country": count.byCountry]
            object["updated_at"] = count.updatedAt.map(Timestamp.format) ?? NSNull()
            return try Self.json(object)
        }
        router.get("/v1/petitions") { _, _ in
            let (petitions, totals) = try await pool.withConnection { connection in
                (try Petitions.list(on: connection), try Counts.totals(on: connection))
            }
            let list: [[String: Any]] = petitions.map { petition in
                ["slug": petition.slug, "title": petition.title,
                 "status": petition.isTakingSignatures() ? "open" : "closed", "total": totals[petition.id] ?? 0]
            }
            return try Self.json(["petitions": list])
        }
    }

    static func json(_ object: Any) throws -> Response {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=1"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
