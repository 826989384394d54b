import Foundation
import NIOHTTP1
import Postgres
import Store
import Testing

@Suite("End to end: HTTP → intake → broker → dedup → PostgreSQL → tally → delivery", .serialized)
struct EndToEndTests {
    static let countries = ["FR", "KE", "BR", "IN", "US", "DE", "GB", "JP", "NG"]

    /// A signer's email as first typed, and a variant the same person might type later.
    static func emails(_ i: Int) -> (first: String, variant: String) {
        switch i % 4 {
        case 0: ("signer.\(i)@gmail.com", "Signer\(i)+stage@googlemail.com")  // gmail dots, alias, +tag
        case 1: ("signer\(i)@example.org", "  SIGNER\(i)@Example.ORG ")        // case and spaces
        case 2: ("s.i.g.n.e.r\(i)@gmail.com", "signer\(i)@GMAIL.com")           // dots and case
        default: ("signer\(i)@outlook.com", "signer\(i)+festival@outlook.com")  // +tag
        }
    }

    static func body(name: String, email: String, country: String, source: String = "web") -> String {
        let object: [String: Any] = ["name": name, "email": email, "country": country, "contact_opt_in": false, "source": source]
        return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test("2,000 concurrent signatures with 200 duplicates are counted exactly: 1,800")
    func signaturesAreCountedExactlyOnce() async throws {
        try await Sandbox.with(milestones: [1000, 5000]) { sandbox in try await countsExactly(sandbox) }
    }

    private func countsExactly(_ sandbox: Sandbox) async throws {
        let suite = try await sandbox.start()

        var requests: [(email: String, country: String)] = []
        var expectedByCountry: [String: Int] = [:]
        for i in 0..<1800 {
            let country = Self.countries[i % Self.countries.count]
            requests.append((Self.emails(i).first, country))
            expectedByCountry[country, default: 0] += 1
        }
        for i in stride(from: 0, to: 1800, by: 9).prefix(200) {
            requests.append((Self.emails(i).variant, Self.countries[i % Self.countries.count]))
        }
        #expect(requests.count == 2000)
        requests.shuffle()

        let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
            let lanes = 64
            for lane in 0..<lanes {
                let mine = stride(from: lane, to: requests.count, by: lanes).map { requests[$0] }
                group.addTask {
                    var statuses: [Int] = []
                    for (index, request) in mine.enumerated() {
                        let reply = try await suite.post(
                            port: suite.intakePort, "/v1/petitions/digital-peace-now/signatures",
                            body: Self.body(name: "Signer \(lane)-\(index)", email: request.email, country: request.country))
                        statuses.append(reply.status)
                    }
                    return statuses
                }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        // Duplicates get the same answer as new signatures: the API never tells who signed already.
        #expect(statuses.count == 2000)
        #expect(statuses.allSatisfy { $0 == 202 })

        let counted = try await TestEnvironment.eventually(timeout: .seconds(90)) { try await suite.total() == 1800 }
        #expect(counted, "the count did not reach 1,800")
        // Let any straggling redelivery land, then check nothing moved.
        try await Task.sleep(for: .milliseconds(500))
        let count = try await suite.get(port: suite.tallyPort, "/v1/petitions/digital-peace-now/count")
        #expect(count.status == 200)
        #expect(count.json["total"] as? Int == 1800)
        #expect((count.json["by_country"] as? [String: Int]) == expectedByCountry)
        #expect(count.headers["cache-control"] != nil)

        #expect(try sandbox.rows("SELECT count(*) FROM signatures") == 1800)
        #expect(try sandbox.rows("SELECT count(*) FROM tally_counted") == 1800)
        #expect(try sandbox.rows("SELECT count(DISTINCT signer_key) FROM signatures") == 1800)

        // The 1,000 milestone was crossed once, published once and recorded once by delivery.
        let delivered = try await TestEnvironment.eventually(timeout: .seconds(30)) {
            try sandbox.rows("SELECT count(*) FROM delivery_events WHERE event_key = 'milestone:digital-peace-now:1000'") == 1
        }
        #expect(delivered)
        #expect(try sandbox.rows("SELECT count(*) FROM milestones") == 1)
        #expect(try sandbox.rows("SELECT count(*) FROM milestones WHERE published_at IS NOT NULL") == 1)
        // The metrics the dashboard and the alerts read are there, under conventional names.
        let metrics = try await suite.get(port: suite.intakeOpsPort, "/metrics").body
        #expect(metrics.contains(#"http_requests_total{route="/v1/petitions/{slug}/signatures",method="POST",status="202"} "#))
        #expect(metrics.contains("# TYPE http_request_duration_seconds histogram"))
        #expect(metrics.contains("undersigned_intake_signatures_accepted_total "))
        #expect(metrics.contains("undersigned_dedup_signatures_total{result=\"new\"}"))
        #expect(metrics.contains("undersigned_tally_events_total"))
        #expect(metrics.contains("# TYPE undersigned_end_to_end_lag_seconds histogram"))
        #expect(try await suite.metric("undersigned_end_to_end_lag_seconds_count") >= 1000)
        #expect(try await suite.metric("undersigned_batch_messages_count") >= 1)
        #expect(try await suite.metric("undersigned_publisher_messages_published_total") >= 1)
        #expect(try await suite.metric("undersigned_publisher_confirms_in_flight") >= 0)
        await suite.stop()
    }

    @Test("bad requests get a clear problem naming the field; unknown and closed petitions are refused")
    func clearErrors() async throws {
        try await Sandbox.with(petition: "open-one") { sandbox in try await answersClearly(sandbox) }
    }

    private func answersClearly(_ sandbox: Sandbox) async throws {
        try Petitions.upsert(slug: "closed-one", title: "Closed", on: try sandbox.connection)
        try Petitions.setStatus(.closed, slug: "closed-one", on: try sandbox.connection)
        let suite = try await sandbox.start()
        let path = "/v1/petitions/open-one/signatures"

        let badEmail = try await suite.post(port: suite.intakePort, path, body: Self.body(name: "Ada", email: "ada-at-example", country: "GB"))
        #expect(badEmail.status == 422)
        #expect(badEmail.headers["content-type"] == "application/problem+json")
        #expect(badEmail.json["field"] as? String == "email")
        #expect(!badEmail.body.contains("ada-at-example"))

        let badCountry = try await suite.post(port: suite.intakePort, path, body: Self.body(name: "Ada", email: "ada@example.org", country: "Atlantis"))
        #expect(badCountry.status == 422)
        #expect(badCountry.json["field"] as? String == "country")

        let missingName = try await suite.post(port: suite.intakePort, path, body: #"{"email":"ada@example.org","country":"GB"}"#)
        #expect(missingName.status == 422)
        #expect(missingName.json["field"] as? String == "name")

        let wrongType = try await suite.post(port: suite.intakePort, path, body: #"{"name":"Ada","email":"ada@example.org","country":"GB","contact_opt_in":"yes"}"#)
        #expect(wrongType.status == 422)
        #expect(wrongType.json["field"] as? String == "contact_opt_in")

        let notJSON = try await suite.post(port: suite.intakePort, path, body: "{nope")
        #expect(notJSON.status == 400)

        let partnerSource = try await suite.post(port: suite.intakePort, path, body: Self.body(name: "Ada", email: "ada@example.org", country: "GB", source: "partner:acme"))
        #expect(partnerSource.status == 422)
        #expect(partnerSource.json["field"] as? String == "source")

        let huge = try await suite.post(port: suite.intakePort, path, body: Self.body(name: String(repeating: "x", count: 20_000), email: "ada@example.org", country: "GB"))
        #expect(huge.status == 413)

        let unknown = try await suite.post(port: suite.intakePort, "/v1/petitions/no-such-petition/signatures", body: Self.body(name: "Ada", email: "ada@example.org", country: "GB"))
        #expect(unknown.status == 404)
        let closed = try await suite.post(port: suite.intakePort, "/v1/petitions/closed-one/signatures", body: Self.body(name: "Ada", email: "ada@example.org", country: "GB"))
        #expect(closed.status == 410)

        // An HTML form works too, and answers with a page when the browser asks for one.
        let form = try await suite.post(
            port: suite.intakePort, path, body: "name=Grace+Hopper&email=grace%40example.org&country=us&contact_opt_in=on",
            contentType: "application/x-www-form-urlencoded", accept: "text/html")
        #expect(form.status == 202)
        #expect(form.body.contains("Thank you"))
        let json = try await suite.post(port: suite.intakePort, path, body: Self.body(name: "Ada", email: "ada@example.org", country: "GB"))
        #expect(json.status == 202)
        #expect(UUID(uuidString: json.json["submission_id"] as? String ?? "") != nil)

        let petition = try await suite.get(port: suite.intakePort, "/v1/petitions/open-one")
        #expect(petition.status == 200)
        #expect(petition.json["title"] as? String == "open-one")
        #expect(try await suite.get(port: suite.tallyPort, "/v1/petitions/nope/count").status == 404)

        // A known resource with a method it does not take: 405 naming the methods it does (not 404).
        let delete = try await suite.send(method: .DELETE, port: suite.intakePort, path)
        #expect(delete.status == 405)
        #expect(delete.headers["allow"] == "POST")
        #expect(delete.headers["content-type"] == "application/problem+json")
        let query = try await suite.send(method: .RAW(value: "QUERY"), port: suite.tallyPort, "/v1/petitions/open-one/count")
        #expect(query.status == 405)
        #expect(query.headers["allow"] == "GET, HEAD")
        #expect(try await suite.send(method: .HEAD, port: suite.tallyPort, "/v1/petitions/open-one/count").status == 200)
        #expect(try await suite.send(method: .DELETE, port: suite.tallyPort, "/v1/nothing-here").status == 404)

        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) { try await suite.total("open-one") == 2 })
        for port in suite.opsPorts {
            #expect(try await suite.get(port: port, "/health/live").status == 200)
            #expect(try await suite.get(port: port, "/health/ready").status == 200)
        }
        // Readiness and metrics are on the ops ports only: the public ports do not know them.
        for port in [suite.intakePort, suite.tallyPort] {
            for path in ["/metrics", "/health/ready", "/health/live"] {
                #expect(try await suite.get(port: port, path).status == 404, "\(path) on a public port")
            }
        }
        let metrics = try await suite.get(port: suite.intakeOpsPort, "/metrics")
        #expect(metrics.body.contains("undersigned_intake_signatures_accepted_total"))
        // No email address or name reaches the metrics.
        #expect(!metrics.body.contains("example.org"))
        await suite.stop()
    }
}
