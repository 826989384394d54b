import AMQP
import Foundation
import Hummingbird
import Logging
import Metrics
import Models
import Pages
import ServiceSupport
import Store

/// The public signing API:
/// - `POST /v1/petitions/{slug}/signatures`: JSON or an HTML form; `202 {"submission_id": …}` once the
///   signature is durably in the broker.
/// - `GET /v1/petitions/{slug}`: the petition's public fields.
struct SignatureRoutes {
    let directory: PetitionDirectory
    let batcher: EnvelopeBatcher
    let publisher: AMQPPublisher
    let abuse: AbuseGuard
    let publicURL: String
    /// Origins whose pages may send forms here besides intake's own (`UNDERSIGNED_CORS_ORIGINS`).
    let allowedOrigins: Set<String>
    let logger: Logger
    /// Run-time switches (`trending` off: sources are not recorded).
    let switches: Switchboard
    /// The kiosks in use (`Authorization: Kiosk TOKEN`): their signatures pass the per-address limit.
    let kiosks: KioskRegistry?
    /// Where refusals are tallied for the call's history.
    let refusals: RefusalTally?
    private let accepted = Counter(label: "undersigned_intake_signatures_accepted_total")
    private let rejected = Counter(label: "undersigned_intake_signatures_rejected_total")
    private let unavailable = Counter(label: "undersigned_intake_unavailable_total")

    init(
        directory: PetitionDirectory, batcher: EnvelopeBatcher, publisher: AMQPPublisher, abuse: AbuseGuard, publicURL: String, allowedOrigins: [String] = [],
        switches: Switchboard = Switchboard(), kiosks: KioskRegistry? = nil, refusals: RefusalTally? = nil, logger: Logger
    ) {
        self.directory = directory
        self.batcher = batcher
        self.publisher = publisher
        self.abuse = abuse
        self.publicURL = publicURL
        self.allowedOrigins = Set(allowedOrigins.map { $0.lowercased() })
        self.switches = switches
        self.kiosks = kiosks
        self.refusals = refusals
        self.logger = logger
    }

    /// Largest request body taken: a signature is a few hundred bytes.
    static let maximumBody = 16 * 1024

    func add<Context: RemoteAddressRequestContext>(to router: Router<Context>) {
        router.post("/v1/petitions/:slug/signatures") { request, context in
            try await sign(request, context: context)
        }
        router.get("/v1/petitions/:slug") { _, context in
            try await petition(context: context)
        }
        router.middlewares.add(MethodNotAllowedMiddleware(["/v1/petitions/:slug/signatures": [.post], "/v1/petitions/:slug": [.get]]))
    }

    private func sign(_ request: Request, context: some RemoteAddressRequestContext) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        guard (try? PetitionSlug.validate(slug)) != nil else { throw Problem.noSuchPetition(slug) }
        do {
            return try await sign(request, slug: slug, context: context)
        } catch let problem as Problem {
            // Tallied for the call's report under the petition that was signing (its rehearsal's while one
            // is on); only for a petition read before, so made-up names cannot crowd out the real ones.
            if let petition = directory.cached(slug: slug) { refusals?.record(petition: petition.signingSlug, problem) }
            throw problem
        }
    }

    private func sign(_ request: Request, slug: String, context: some RemoteAddressRequestContext) async throws -> Response {
        var request = request
        // A kiosk is vouched for by its token (a venue's Wi-Fi is one address for all its kiosks): it skips
        // the per-address limit only. Everyone meets the rest before any lookup, and a wrong token meets
        // them all before its 401: a flood of made-up slugs or tokens is stopped like any other flood.
        let kiosk = Result { try kiosks?.kiosk(of: request.headers) }
        let client = abuse.client(peer: context.remoteAddress, forwardedFor: request.headers[.xForwardedFor])
        try abuse.admit(client: client, petition: slug, vouched: (try? kiosk.get()) != nil)
        let kioskName = try kiosk.get()
        // A cache hit in the common case; no child task for it (that cost more than the lookup).
        let entry = try await openPetition(slug: slug)
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: Self.maximumBody)
        } catch {
            throw Problem(.contentTooLarge, title: "Request too large", detail: "a signature must be at most \(Self.maximumBody) bytes")
        }
        let bytes = Array(buffer: body)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let isForm = contentType.hasPrefix("application/x-www-form-urlencoded")
        // Another site must not sign for its visitors (a campaign's own site is a CORS origin). A browser
        // sends a form, text or a body without a type across sites without asking first; only JSON needs
        // its preflight, which CORS answers.
        if !contentType.hasPrefix("application/json"), !SigningPageRoutes.sameOrigin(request, allowing: allowedOrigins) {
            throw Problem(.forbidden, title: "Cross-site form", detail: "this form can only be sent from the campaign's own pages", field: "origin")
        }
        let fields: SignatureRequest
        var signature: Signature
        do {
            if isForm {
                fields = SignatureRequest(form: bytes)
            } else if contentType.hasPrefix("application/json") || contentType.isEmpty {
                fields = try SignatureRequest(json: bytes)
            } else {
                throw Problem(.unsupportedMediaType, title: "Unsupported content type", detail: "send application/json or an HTML form")
            }
            // While a rehearsal is on, its petition takes the signature (never the real count).
            signature = try fields.signature(petition: entry.petition.signingSlug, versions: entry.texts)
            if let kioskName { signature.source = SignatureSource.kiosk(kioskName).stored }
            try abuse.admit(email: signature.email)
        } catch let problem as ValidationProblem {
            rejected.increment()
            throw problem.field == "body"
                ? Problem(.badRequest, title: "Malformed request", detail: problem.description, field: problem.field)
                : Problem.invalid(problem)
        }
        if let expected = fields.rehearsal, expected != (entry.petition.rehearsal != nil) {
            throw Problem(
                .conflict, title: expected ? "The rehearsal is over" : "A rehearsal is on",
                detail: expected ? "this signature was taken in the rehearsal, which is over: it is not counted"
                    : "this signature was taken before the rehearsal: send it again when the rehearsal is over",
                field: "rehearsal", extra: ["rehearsal": String(!expected)])
        }
        try await take(signature, client: client)
        // The id the client chose, when it chose one (what it will look for); else the one made here.
        let id = (fields.submissionID.flatMap(UUID.parse) ?? signature.submissionID).uuidString.lowercased()
        if isForm && (request.headers[.accept] ?? "").contains("text/html") {
            let page = SigningPage(catalogue: Catalogues.shared.negotiate(requested: signature.language, acceptLanguage: request.headers[.acceptLanguage]), publicURL: publicURL)
            return Response(
                status: .accepted, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: page.thanks(entry.page(language: page.catalogue.language), reference: id))))
        }
        return Response(
            status: .accepted, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: "{\"submission_id\":\"\(id)\",\"status\":\"accepted\"}")))
    }

    /// Hands a validated signature to the broker; returns once it is confirmed (durably in a quorum queue).
    /// Throws 503 when the broker cannot take it now.
    func take(_ signature: Signature, client: IPAddress?) async throws {
        // Back-pressure: answer at once when the broker cannot take the signature, rather than queueing
        // what might never be confirmed.
        let broker = publisher.status
        guard broker.connected, !broker.blocked else {
            unavailable.increment()
            throw Problem(.serviceUnavailable, title: "Try again shortly", detail: broker.blocked
                ? "the message broker is refusing new work (resource alarm)" : "the message broker is unreachable", retryAfter: 2)
        }
        do {
            try await batcher.submit(signature)
        } catch let error as AMQPError {
            unavailable.increment()
            logger.warning("could not hand a signature to the broker", metadata: ["error": "\(error.code.rawValue)"])
            throw Problem(.serviceUnavailable, title: "Try again shortly", detail: "signatures cannot be taken right now", retryAfter: 2)
        }
        accepted.increment()
        if switches.isOn(.trending) {
            abuse.trending.record(client: client, domain: AbuseGuard.domain(of: signature.email), now: AbuseGuard.now())
        }
    }

    /// An open petition, or 404 (unknown), 403 (not open yet: when it opens), 503 (paused: try again
    /// shortly) or 410 (closed).
    func openPetition(slug: String) async throws -> PetitionEntry {
        guard let entry = try await directory.entry(slug: slug) else {
            throw Problem.noSuchPetition(slug)
        }
        if let refusal = Self.refusal(entry.petition) { throw refusal }
        return entry
    }

    /// Why a petition takes no signature now, or nil when it does.
    static func refusal(_ petition: Petition, at now: Date = Date()) -> Problem? {
        switch petition.signingPhase(at: now) {
        case .open: return nil
        case .closed: return Problem(.gone, title: "Petition closed", detail: "this petition no longer takes signatures", field: "slug")
        case .paused:
            return Problem(.serviceUnavailable, title: "Signing paused", detail: "signing is paused for a moment; try again shortly", retryAfter: 30)
        case .scheduled:
            let opensAt = petition.opensAt ?? now
            return Problem(
                .forbidden, title: "Not open yet", detail: "this petition opens for signatures at \(Timestamp.format(opensAt))", field: "slug",
                retryAfter: max(1, min(3600, Int(opensAt.timeIntervalSince(now).rounded(.up)))), extra: ["opens_at": Timestamp.format(opensAt)])
        }
    }

    private func petition(context: some RequestContext) async throws -> Response {
        let slug = context.parameters.get("slug") ?? ""
        guard let entry = try await directory.entry(slug: slug) else {
            throw Problem.noSuchPetition(slug)
        }
        let petition = entry.petition
        var object: [String: Any] = [
            "slug": petition.slug, "title": petition.title, "body": petition.body,
            "status": petition.phase().rawValue,
            "milestones": petition.milestones, "code": petition.code, "language": petition.language,
        ]
        if let text = entry.text(for: petition.language) { object["text_version"] = text.id }
        if let closesAt = petition.closesAt { object["closes_at"] = Timestamp.format(closesAt) }
        if let opensAt = petition.opensAt { object["opens_at"] = Timestamp.format(opensAt) }
        object["rehearsal"] = petition.rehearsal != nil
        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=5"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
