import AMQP
import Foundation
import Messaging
import Models
import Postgres
import ServiceSupport
import Store
import Testing

@testable import Dedup

@Suite("Idempotency: redelivery changes nothing twice", .serialized)
struct IdempotencyTests {
    @Test("the same accepted events twice (and twice within one message) are counted once")
    func sameAcceptedEventTwice() async throws {
        try await Sandbox.with(milestones: [50]) { sandbox in try await countedOnce(sandbox) }
    }

    @Test("tally counts only signatures that are stored: forged ids, and a real id with another country, count nothing")
    func forgedEventsCountNothing() async throws {
        try await Sandbox.with { sandbox in
            let (names, connection, petition) = (sandbox.names, try sandbox.connection, sandbox.petition)
            var events: [SignatureAccepted] = []
            for i in 0..<5 {
                let id = try connection.query("""
                    INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, signed_at)
                    VALUES (\(petition.id), \(ByteA(Array(repeating: UInt8(200 + i), count: 32))), \(UUID()), 'x', 'KE', 'web', now())
                    RETURNING id
                    """).first!.decode(Int64.self, 0)
                events.append(SignatureAccepted(signatureID: id, submissionID: UUID(), petition: petition.slug, country: "KE",
                                                source: "web", signedAt: Date(), acceptedAt: Date()))
            }
            let forged = (1...5).map { n in
                SignatureAccepted(signatureID: events.last!.signatureID + 1_000_000 * Int64(n), submissionID: UUID(), petition: petition.slug,
                                  country: "US", source: "web", signedAt: Date(), acceptedAt: Date())
            } + [SignatureAccepted(signatureID: events[0].signatureID, submissionID: UUID(), petition: petition.slug, country: "US",
                                   source: "web", signedAt: Date(), acceptedAt: Date())]
            let suite = try await sandbox.start()
            let publisher = sandbox.publisher()
            try await publisher.publish(OutgoingMessage(exchange: names.acceptedExchange, routingKey: "test",
                                                        body: WireCodec.encode(SignaturesAccepted(events: forged))))
            try await publisher.publish(OutgoingMessage(exchange: names.acceptedExchange, routingKey: "test",
                                                        body: WireCodec.encode(SignaturesAccepted(events: events))))
            #expect(try await TestEnvironment.eventually { try await suite.total() == 5 })
            let admin = try AMQPAdmin(configuration: TestEnvironment.amqp())
            #expect(try await TestEnvironment.eventually { try admin.queueStatus(names.tallyQueue).messages == 0 })
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await suite.total() == 5)
            #expect(try sandbox.rows("SELECT count(*) FROM petition_counts WHERE country = 'US' AND count > 0") == 0)
            #expect(try Recount.check(on: connection).isConsistent)
            await publisher.stop()
            await suite.stop()
        }
    }

    private func countedOnce(_ sandbox: Sandbox) async throws {
        let (names, connection, petition) = (sandbox.names, try sandbox.connection, sandbox.petition)
        // Real signature rows, so that recount can compare.
        var events: [SignatureAccepted] = []
        for i in 0..<100 {
            let id = try connection.query("""
                INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, signed_at)
                VALUES (\(petition.id), \(ByteA(Array(repeating: UInt8(i), count: 32))), \(UUID()), 'x', 'FR', 'web', now())
                RETURNING id
                """).first!.decode(Int64.self, 0)
            events.append(SignatureAccepted(signatureID: id, submissionID: UUID(), petition: petition.slug, country: "FR",
                                            source: "web", signedAt: Date(), acceptedAt: Date()))
        }
        let suite = try await sandbox.start(tallyInstances: 2)
        let publisher = sandbox.publisher()
        let message = OutgoingMessage(exchange: names.acceptedExchange, routingKey: "test",
                                      body: WireCodec.encode(SignaturesAccepted(events: events + events.prefix(10))))
        for _ in 0..<3 { try await publisher.publish(message) }
        #expect(try await TestEnvironment.eventually { try await suite.total() == 100 })
        let admin = try AMQPAdmin(configuration: TestEnvironment.amqp())
        #expect(try await TestEnvironment.eventually { try admin.queueStatus(names.tallyQueue).messages == 0 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await suite.total() == 100)
        #expect(try sandbox.rows("SELECT count(*) FROM milestones") == 1)
        #expect(try await TestEnvironment.eventually { try sandbox.rows("SELECT count(*) FROM delivery_events") == 1 })
        #expect(try Recount.check(on: connection).isConsistent)
        await publisher.stop()
        await suite.stop()
    }

    @Test("a crash between commit and ack: the redelivered batch changes nothing, its events are re-emitted")
    func crashBetweenCommitAndAck() async throws {
        try await Sandbox.with { sandbox in try await redeliveryChangesNothing(sandbox) }
    }

    private func redeliveryChangesNothing(_ sandbox: Sandbox) async throws {
        let (names, connection) = (sandbox.names, try sandbox.connection)
        let publisher = sandbox.publisher()
        for round in 0..<5 {
            try await publisher.publish(OutgoingMessage(exchange: names.submittedExchange, routingKey: "test",
                                                        body: WireCodec.encode(RedeliveryTests.envelope(100, start: round * 100))))
        }
        // A dedup that commits and publishes, then dies before its ack.
        let pool = PostgresPool(configuration: .init(url: sandbox.databaseURL, size: 1), logger: TestEnvironment.logger)
        pool.start()
        let handler = EnvelopeHandler(pool: pool, publisher: publisher, names: names,
                                      keys: try SignerKeyMaker(secret: TestEnvironment.signerSecret), logger: TestEnvironment.logger)
        let doomed = AMQPConsumer(
            configuration: .init(connection: TestEnvironment.amqp("doomed"), topology: .undersigned(names), queue: names.dedupQueue,
                                 batchSize: 5, batchWait: .milliseconds(200), drainTimeout: .milliseconds(100)),
            logger: TestEnvironment.logger)
        doomed.start()
        var iterator = doomed.batches.makeAsyncIterator()
        let batch = try #require(await iterator.next())
        let dead = try await handler.handle(batch.deliveries)
        #expect(dead.isEmpty)
        await doomed.stop()  // never acked: the broker requeues the batch
        pool.requestStop()
        #expect(try sandbox.rows("SELECT count(*) FROM signatures") == batch.deliveries.count * 100)

        let suite = try await sandbox.start()
        #expect(try await TestEnvironment.eventually { try await suite.total() == 500 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await suite.total() == 500)
        #expect(try sandbox.rows("SELECT count(*) FROM signatures") == 500)
        #expect(try Recount.check(on: connection).isConsistent)
        await publisher.stop()
        await suite.stop()
    }

    @Test("a message that keeps coming back is dead-lettered by the broker after the delivery limit")
    func deliveryLimit() async throws {
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        let publisher = AMQPPublisher(configuration: .init(connection: TestEnvironment.amqp("test"), topology: .undersigned(names)), logger: TestEnvironment.logger)
        publisher.start()
        try await publisher.publish(OutgoingMessage(exchange: names.submittedExchange, routingKey: "test", body: Array("crashes every consumer".utf8)))
        await publisher.stop()
        let admin = try AMQPAdmin(configuration: TestEnvironment.amqp())
        var attempts = 0
        // Each consumer takes the message and dies without settling it.
        while try admin.queueStatus(names.deadQueue(for: names.dedupQueue)).messages == 0 && attempts < Int(Topology.deliveryLimit) + 3 {
            let consumer = AMQPConsumer(
                configuration: .init(connection: TestEnvironment.amqp("crashing"), topology: .undersigned(names), queue: names.dedupQueue,
                                     batchWait: .milliseconds(1), drainTimeout: .milliseconds(1)),
                logger: TestEnvironment.logger)
            consumer.start()
            var iterator = consumer.batches.makeAsyncIterator()
            guard await iterator.next() != nil else { break }
            attempts += 1
            await consumer.stop()
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(attempts == Int(Topology.deliveryLimit) + 1)
        #expect(try admin.queueStatus(names.dedupQueue).messages == 0)
        #expect(try admin.queueStatus(names.deadQueue(for: names.dedupQueue)).messages == 1)
    }

    @Test("recount finds counters that drifted and repairs them")
    func recountRepairs() async throws {
        let databaseURL = try TestEnvironment.makeDatabase()
        defer { TestEnvironment.dropDatabase(databaseURL) }
        let connection = try PostgresConnection(url: databaseURL)
        let petition = try Petitions.upsert(slug: "drift", title: "Drift", on: connection)
        try connection.query("""
            WITH s AS (
                INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, signed_at)
                SELECT \(petition.id), decode(lpad(to_hex(i), 64, '0'), 'hex'), gen_random_uuid(), 'x',
                       CASE WHEN i % 2 = 0 THEN 'FR' ELSE 'KE' END, 'web', now()
                FROM generate_series(1, 10) AS i RETURNING id
            )
            INSERT INTO tally_counted SELECT id FROM s
            """)
        try connection.query("INSERT INTO petition_counts (petition_id, country, shard, count) VALUES (\(petition.id), 'FR', 3, 7), (\(petition.id), 'KE', 1, 5), (\(petition.id), 'BR', 2, 1)")
        let report = try Recount.check(on: connection)
        #expect(report.differences.map(\.country) == ["BR", "FR"])
        #expect(report.differences.first { $0.country == "FR" }?.expected == 5)
        #expect(report.differences.first { $0.country == "FR" }?.actual == 7)
        #expect(try Recount.fix(on: connection).count == 2)
        #expect(try Recount.check(on: connection).isConsistent)
        #expect(try Counts.read(petitionID: petition.id, on: connection) .byCountry == ["FR": 5, "KE": 5])
    }
}
