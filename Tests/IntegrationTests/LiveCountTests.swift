import AMQP
import AsyncHTTPClient
import Foundation
import Models
import NIOCore
import Postgres
import Store
import Testing

@Suite("Live counts: exact with three tally instances, milestones once, SSE, stage page", .serialized)
struct LiveCountTests {
    static func accepted(_ sandbox: Sandbox, count: Int, countries: [String]) throws -> [SignatureAccepted] {
        let connection = try sandbox.connection
        return try (0..<count).map { i in
            let country = countries[i % countries.count]
            let id = try connection.query("""
                INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, signed_at)
                VALUES (\(sandbox.petition.id), \(ByteA(SHA.key(i))), \(UUID()), 'x', \(country), 'web', now()) RETURNING id
                """).first!.decode(Int64.self, 0)
            return SignatureAccepted(signatureID: id, submissionID: UUID(), petition: sandbox.petition.slug, country: country,
                                     source: "web", signedAt: Date(), acceptedAt: Date())
        }
    }

    enum SHA {
        static func key(_ i: Int) -> [UInt8] { [UInt8(i >> 16 & 0xFF), UInt8(i >> 8 & 0xFF), UInt8(i & 0xFF)] + Array(repeating: 7, count: 29) }
    }

    @Test("three tally instances and redelivered events: exact totals and per-country counts, each milestone once")
    func threeInstancesExact() async throws {
        try await Sandbox.with(milestones: [500, 1000, 1500]) { sandbox in
            let events = try Self.accepted(sandbox, count: 1200, countries: ["FR", "KE", "BR", "IN"])
            let suite = try await sandbox.start(tallyInstances: 3)
            let publisher = sandbox.publisher()
            // Every event three times, in different groupings, so instances race on the same ids.
            for chunk in stride(from: 0, to: events.count, by: 100) {
                let slice = Array(events[chunk..<min(chunk + 100, events.count)])
                for grouping in [slice, slice.reversed(), slice + slice.prefix(10)] {
                    try await publisher.publish(OutgoingMessage(exchange: sandbox.names.acceptedExchange, routingKey: "test",
                                                                body: WireCodec.encode(SignaturesAccepted(events: grouping))))
                }
            }
            #expect(try await TestEnvironment.eventually { try await suite.total() == 1200 })
            let admin = try AMQPAdmin(configuration: TestEnvironment.amqp())
            #expect(try await TestEnvironment.eventually { try admin.queueStatus(sandbox.names.tallyQueue).messages == 0 })
            try await Task.sleep(for: .milliseconds(500))
            let count = try await suite.get(port: suite.tallyPort, "/v1/petitions/digital-peace-now/count")
            #expect(count.json["total"] as? Int == 1200)
            #expect(count.json["by_country"] as? [String: Int] == ["FR": 300, "KE": 300, "BR": 300, "IN": 300])
            #expect(count.json["milestones_reached"] as? [Int] == [500, 1000])
            #expect(count.json["next_milestone"] as? Int == 1500)
            #expect((count.json["rate_per_minute"] as? Int ?? 0) == 1200)
            #expect(try await TestEnvironment.eventually { try sandbox.rows("SELECT count(*) FROM delivery_events") == 2 })
            try await Task.sleep(for: .milliseconds(300))
            #expect(try sandbox.rows("SELECT count(*) FROM delivery_events") == 2)
            #expect(try Recount.check(on: try sandbox.connection).isConsistent)

            // A count that did not change is not sent again.
            let etag = try #require(count.headers["etag"])
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(suite.tallyPort)/v1/petitions/digital-peace-now/count")
            request.headers.add(name: "if-none-match", value: etag)
            #expect(try await RunningSuite.send(request).status == 304)
            #expect(count.headers["cache-control"]?.contains("max-age") == true)
            await publisher.stop()
            await suite.stop()
        }
    }

    /// Reads server-sent events from `port` until `until` holds for the last count event's total.
    static func readEvents(port: Int, lastEventID: String? = nil, until: @escaping @Sendable (Int) -> Bool) async throws -> (ids: [String], totals: [Int]) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/v1/petitions/digital-peace-now/live")
        if let lastEventID { request.headers.add(name: "last-event-id", value: lastEventID) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        #expect(response.headers.first(name: "content-type") == "text/event-stream")
        var text = ""
        var ids: [String] = []
        var totals: [Int] = []
        for try await buffer in response.body {
            text += String(buffer: buffer)
            while let end = text.range(of: "\n\n") {
                let event = String(text[..<end.lowerBound])
                text.removeSubrange(..<end.upperBound)
                var data: String?
                for line in event.split(separator: "\n") {
                    if line.hasPrefix("id: ") { ids.append(String(line.dropFirst(4))) }
                    if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                }
                if let data, let object = try? JSONSerialization.jsonObject(with: Data(data.utf8)) as? [String: Any], let total = object["total"] as? Int {
                    totals.append(total)
                    if until(total) { return (ids, totals) }
                }
            }
        }
        return (ids, totals)
    }

    @Test("SSE: a real client sees the count climb and resumes after a dropped connection")
    func serverSentEvents() async throws {
        try await Sandbox.with { sandbox in
            let suite = try await sandbox.start()
            async let first = Self.readEvents(port: suite.tallyPort) { $0 >= 50 }
            try await Task.sleep(for: .milliseconds(300))
            for i in 0..<50 {
                _ = try await suite.sign(email: "live\(i)@example.org", country: "GB")
            }
            let (ids, totals) = try await first
            #expect(totals.last == 50)
            #expect(totals == totals.sorted(), "counts only climb")
            #expect(totals.count < 50, "updates are coalesced, not one per signature")
            // Resume with the last id: nothing is repeated, the next event is newer.
            for i in 50..<60 {
                _ = try await suite.sign(email: "live\(i)@example.org", country: "GB")
            }
            let resumed = try await Self.readEvents(port: suite.tallyPort, lastEventID: ids.last) { $0 >= 60 }
            #expect(resumed.totals.allSatisfy { $0 > 50 })
            #expect(resumed.totals.last == 60)

            let page = try await suite.get(port: suite.tallyPort, "/live/digital-peace-now")
            #expect(page.status == 200)
            #expect(page.headers["content-type"]?.hasPrefix("text/html") == true)
            #expect(page.body.contains("EventSource"))
            #expect(page.body.contains(#"data-slug="digital-peace-now""#))
            #expect(page.body.contains("<svg") && page.body.contains("/s/"), "the way in: a QR code and the short link")
            #expect(page.body.contains("/v1/petitions/${slug}/live"))
            #expect(!page.body.contains("<link") && !page.body.contains(" src=") && !page.body.contains("url("), "the page loads nothing from elsewhere")
            #expect(try await suite.get(port: suite.tallyPort, "/live/no-such-petition").status == 404)

            // Shutdown does not wait for open live streams.
            async let open = Self.readEvents(port: suite.tallyPort) { _ in false }
            try await Task.sleep(for: .milliseconds(300))
            let stopping = ContinuousClock.now
            await suite.stop()
            _ = try? await open
            #expect(ContinuousClock.now - stopping < .seconds(10))
        }
    }
}

@Suite("The stage page in a real browser")
struct StagePageBrowserTests {
    @Test("headless Chromium shows the right count after signatures are posted, and a screenshot is kept")
    func stagePageShowsTheCount() async throws {
        try await Sandbox.with { sandbox in
            let suite = try await sandbox.start()
            // 58 signers: FR 15, KE 15, BR 14, IN 14.
            for n in 0..<58 {
                _ = try await suite.sign(email: "stage\(n)@example.org", country: ["FR", "KE", "BR", "IN"][n % 4])
            }
            #expect(try await TestEnvironment.eventually { try await suite.total() == 58 })
            let url = "http://127.0.0.1:\(suite.tallyPort)/live/digital-peace-now"
            let artefacts = Servers.repository.appendingPathComponent(".build/test-artefacts")
            try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
            let dom = artefacts.appendingPathComponent("stage-page.html").path
            let screenshot = artefacts.appendingPathComponent("stage-page.png").path
            // The page in polling mode settles, so Chromium's virtual time can run its scripts and stop.
            try await Servers.chromium("--virtual-time-budget=5000 --dump-dom '\(url)?mode=poll' > '\(dom)'")
            let html = try String(contentsOfFile: dom, encoding: .utf8)
            #expect(html.contains(#"<div id="count">58</div>"#), "the page does not show the count")
            #expect(html.contains(#"<span class="num">15</span>"#), "the top countries are missing")
            try await Servers.chromium("--hide-scrollbars --window-size=1600,900 --screenshot='\(screenshot)' '\(url)'")
            #expect(FileManager.default.fileExists(atPath: screenshot))
            print("stage page screenshot: \(screenshot)")
            await suite.stop()
        }
    }
}
