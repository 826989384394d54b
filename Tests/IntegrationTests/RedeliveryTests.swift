import AMQP
import Foundation
import Messaging
import Models
import Postgres
import ServiceSupport
import Store
import Testing

@Suite("Redelivery, duplicates and poison messages through the real workers", .serialized)
struct RedeliveryTests {
    static func envelope(_ count: Int, petition: String = "digital-peace-now", start: Int = 0) -> Envelope {
        Envelope(signatures: (start..<start + count).map { i in
            Signature(submissionID: UUID(), petition: petition, name: "Signer \(i)", email: "signer\(i)@example.org",
                      country: ["FR", "KE", "BR"][i % 3], source: "web", signedAt: Date())
        })
    }

    static func message(_ names: TopologyNames, _ body: [UInt8]) -> OutgoingMessage {
        OutgoingMessage(exchange: names.submittedExchange, routingKey: "test", body: body)
    }

    /// Collects what dedup publishes to `signatures.accepted`, through a queue of the test's own.
    static func capture(_ names: TopologyNames) -> AMQPConsumer {
        let queue = names.prefix + "capture.accepted"
        let topology = Topology(
            exchanges: [.init(name: names.acceptedExchange, type: "topic")],
            queues: [.init(name: queue, arguments: ["x-queue-type": .string("quorum")])],
            bindings: [.init(queue: queue, exchange: names.acceptedExchange, routingKey: "#")])
        let consumer = AMQPConsumer(
            configuration: .init(connection: TestEnvironment.amqp("capture"), topology: topology, queue: queue),
            logger: TestEnvironment.logger)
        consumer.start()
        return consumer
    }

    @Test("the same envelope twice: stored once, counted once, its accepted events re-emitted")
    func sameEnvelopeTwice() async throws {
        try await Sandbox.with { sandbox in
            defer { try? AMQPAdmin(configuration: TestEnvironment.amqp()).deleteQueue(sandbox.names.prefix + "capture.accepted") }
            try await storedOnceReEmitted(sandbox)
        }
    }

    private func storedOnceReEmitted(_ sandbox: Sandbox) async throws {
        let names = sandbox.names
        let capture = Self.capture(names)
        try await Task.sleep(for: .milliseconds(300))  // the capture queue is bound before anything is published
        let suite = try await sandbox.start(dedupInstances: 2, tallyInstances: 2)
        let publisher = sandbox.publisher()

        let envelope = Self.envelope(300)
        let body = WireCodec.encode(envelope)
        try await publisher.publish(Self.message(names, body))
        try await publisher.publish(Self.message(names, body))

        var events: [SignatureAccepted] = []
        for await batch in capture.batches {
            for delivery in batch.deliveries {
                events += try WireCodec.decode(SignaturesAccepted.self, from: delivery.body).get().events
            }
            capture.settle(batch)
            if events.count >= 600 { break }
        }
        await capture.stop()
        #expect(events.count == 600)  // 300 new + the same 300 re-emitted for the redelivery
        #expect(Set(events.map(\.signatureID)).count == 300)
        #expect(Set(events.map(\.submissionID)) == Set(envelope.signatures.map(\.submissionID)))

        // The same people again under new submission ids are duplicates, which emit nothing: one envelope
        // of 100 of them and one new signer yields exactly one more event, from the same transaction.
        var again = envelope
        again.envelopeID = UUID()
        again.signatures = Array(again.signatures.prefix(100)) + Self.envelope(1, start: 1000).signatures
        for index in again.signatures.indices { again.signatures[index].submissionID = UUID() }
        try await publisher.publish(Self.message(names, WireCodec.encode(again)))
        let capture2 = Self.capture(names)
        var later: [SignatureAccepted] = []
        for await batch in capture2.batches {
            for delivery in batch.deliveries {
                later += try WireCodec.decode(SignaturesAccepted.self, from: delivery.body).get().events
            }
            capture2.settle(batch)
            if !later.isEmpty { break }
        }
        await capture2.stop()
        #expect(later.map(\.submissionID) == [again.signatures.last!.submissionID])
        let admin = try AMQPAdmin(configuration: TestEnvironment.amqp())
        #expect(try admin.queueStatus(names.prefix + "capture.accepted").messages == 0)

        #expect(try await TestEnvironment.eventually { try await suite.total() == 301 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await suite.total() == 301)
        #expect(try sandbox.rows("SELECT count(*) FROM signatures") == 301)
        #expect(try Recount.check(on: try sandbox.connection).isConsistent)
        await publisher.stop()
        await suite.stop()
    }

    @Test("a poison message is dead-lettered with its reason while the next good one goes through")
    func poisonMessage() async throws {
        try await Sandbox.with { sandbox in try await deadLettersPoison(sandbox) }
    }

    private func deadLettersPoison(_ sandbox: Sandbox) async throws {
        let names = sandbox.names
        let connection = try sandbox.connection
        let suite = try await sandbox.start()
        let publisher = sandbox.publisher()

        try await publisher.publish(Self.message(names, Array("this is not an envelope".utf8)))
        var future = try JSONSerialization.jsonObject(with: Data(WireCodec.encode(Self.envelope(1, start: 900)))) as! [String: Any]
        future["version"] = 99
        try await publisher.publish(Self.message(names, Array(try JSONSerialization.data(withJSONObject: future))))
        // Good signatures next to bad ones in one envelope are kept.
        let mixedEnvelope = Self.envelope(10)
        let mixedID = mixedEnvelope.envelopeID
        var mixed = try JSONSerialization.jsonObject(with: Data(WireCodec.encode(mixedEnvelope))) as! [String: Any]
        var rows = mixed["signatures"] as! [[String: Any]]
        rows[3]["email"] = "broken"
        rows[7]["country"] = "QQ"
        mixed["signatures"] = rows
        try await publisher.publish(Self.message(names, Array(try JSONSerialization.data(withJSONObject: mixed))))
        // A partner envelope whose user_id (here the test's own login) is not the partner its routing key
        // names has no trusted provenance. Dedup consumes the partner's queue once the partner exists.
        try Partners.create(name: "acme", apiKey: PartnerCredentials.newAPIKey(), maxConnections: 5, maxBacklog: 100, receiptURL: nil, on: connection)
        try AMQPAdmin(configuration: TestEnvironment.amqp("admin")).declare(.partnerSubmissions(names, partner: "acme"))
        try await publisher.publish(OutgoingMessage(
            exchange: names.partnersExchange, routingKey: "acme.batch", body: WireCodec.encode(Self.envelope(5, start: 500)),
            properties: MessageProperties(userID: TestEnvironment.amqp().user)))

        #expect(try await TestEnvironment.eventually { try await suite.total() == 8 })
        let dead = AMQPConsumer(
            configuration: .init(connection: TestEnvironment.amqp("dead"), topology: .undersigned(names), queue: names.deadQueue(for: names.dedupQueue)),
            logger: TestEnvironment.logger)
        dead.start()
        var letters: [Delivery] = []
        for await batch in dead.batches {
            letters += batch.deliveries
            dead.settle(batch)
            if letters.count >= 3 { break }
        }
        await dead.stop()
        let codes = letters.map { $0.properties.headers[DeadLetter.Header.code]?.stringValue }
        #expect(codes.sorted { ($0 ?? "") < ($1 ?? "") } == ["not_json", "partner_mismatch", "unsupported_version"])
        for letter in letters {
            #expect(letter.properties.headers[DeadLetter.Header.service]?.stringValue == "dedup")
            #expect(letter.properties.headers[DeadLetter.Header.queue]?.stringValue == names.dedupQueue)
            #expect(letter.properties.headers[DeadLetter.Header.reason]?.stringValue?.isEmpty == false)
            #expect(letter.properties.headers[DeadLetter.Header.failedAt] != nil)
        }
        #expect(letters.contains { String(decoding: $0.body, as: UTF8.self) == "this is not an envelope" })
        #expect(try sandbox.rows("SELECT count(*) FROM signatures") == 8)
        // The bad rows of the mixed envelope are on record, by position, for the sender.
        let rejected = try connection.query("SELECT position, field FROM rejected_signatures WHERE envelope_id = \(mixedID) ORDER BY position")
        #expect(try rejected.map { try $0.decode(Int.self, 0) } == [3, 7])
        #expect(try rejected.map { try $0.decode(String.self, 1) } == ["email", "country"])
        await publisher.stop()
        await suite.stop()
    }
}
