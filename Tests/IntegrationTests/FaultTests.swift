import AMQP
import Foundation
import Messaging
import Models
import Postgres
import Store
import Synchronization
import Testing

@Suite("Faults: broker and database restarts", .serialized)
struct FaultTests {
    static func message(_ names: TopologyNames, _ n: Int) -> OutgoingMessage {
        OutgoingMessage(exchange: names.submittedExchange, routingKey: "fault", body: Array("m\(n)".utf8))
    }

    @Test("broker restarted mid-publish: every confirmed message arrives")
    func brokerRestartMidPublish() async throws {
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        let publisher = AMQPPublisher(
            configuration: .init(connection: TestEnvironment.amqp("fault-publisher", heartbeat: 2), topology: .undersigned(names), publishTimeout: .seconds(60)),
            logger: TestEnvironment.logger)
        publisher.start()
        try await publisher.publish(Self.message(names, -1))
        let confirmed = SharedSet()
        let failed = SharedCount()
        let attempts = SharedCount()
        let restarted = SharedCount()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for lane in 0..<20 {
                group.addTask {
                    // 150 messages each, and on until 10 more have gone after the restart finished: on a busy
                    // machine the restart can take longer than the 150 (the publisher must see it).
                    var i = 0
                    var afterRestart = 0
                    while i < 150 || afterRestart < 10 {
                        let n = lane * 100_000 + i
                        attempts.add()
                        do {
                            try await publisher.publish(Self.message(names, n))
                            confirmed.insert("m\(n)")
                        } catch {
                            failed.add()
                        }
                        if restarted.value > 0 { afterRestart += 1 }
                        i += 1
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(400))
                try await Servers.restartRabbitMQ()
                restarted.add()
            }
            try await group.waitForAll()
        }
        #expect(publisher.status.connections >= 2, "the publisher never saw the restart")
        let expected = confirmed.value
        #expect(expected.count + failed.value == attempts.value)
        #expect(Double(expected.count) > 0.8 * Double(attempts.value))

        let consumer = AMQPConsumer(
            configuration: .init(connection: TestEnvironment.amqp("fault-consumer"), topology: .undersigned(names), queue: names.dedupQueue, batchWait: .milliseconds(100)),
            logger: TestEnvironment.logger)
        consumer.start()
        var received = Set<String>()
        let admin = try AMQPAdmin(configuration: TestEnvironment.amqp())
        for await batch in consumer.batches {
            for delivery in batch.deliveries { received.insert(String(decoding: delivery.body, as: UTF8.self)) }
            consumer.settle(batch)
            if expected.isSubset(of: received), try admin.queueStatus(names.dedupQueue).messages == 0 { break }
        }
        await consumer.stop()
        #expect(expected.subtracting(received).isEmpty, "confirmed messages were lost")
        await publisher.stop()
    }

    @Test("broker restarted mid-consume: the consumer resumes")
    func brokerRestartMidConsume() async throws {
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        let publisher = AMQPPublisher(
            configuration: .init(connection: TestEnvironment.amqp("fault-publisher", heartbeat: 2), topology: .undersigned(names), publishTimeout: .seconds(60)),
            logger: TestEnvironment.logger)
        publisher.start()
        try await publisher.publish((0..<1000).map { Self.message(names, $0) })
        let consumer = AMQPConsumer(
            configuration: .init(connection: TestEnvironment.amqp("fault-consumer", heartbeat: 2), topology: .undersigned(names),
                                 queue: names.dedupQueue, prefetch: 100, batchSize: 50),
            logger: TestEnvironment.logger)
        consumer.start()
        var received = Set<String>()
        var restarted = false
        for await batch in consumer.batches {
            for delivery in batch.deliveries { received.insert(String(decoding: delivery.body, as: UTF8.self)) }
            consumer.settle(batch)
            if !restarted && received.count >= 300 {
                restarted = true
                try await Servers.restartRabbitMQ()
                try await publisher.publish((1000..<2000).map { Self.message(names, $0) })
            }
            if received.count == 2000 { break }
        }
        await consumer.stop()
        #expect(received.count == 2000)
        await publisher.stop()
    }

    @Test("PostgreSQL restarted mid-batch: every signature is committed and counted exactly once")
    func databaseRestartMidBatch() async throws {
        try await Sandbox.with { sandbox in try await committedOnce(sandbox) }
    }

    private func committedOnce(_ sandbox: Sandbox) async throws {
        let names = sandbox.names
        let suite = try await sandbox.start()
        let publisher = sandbox.publisher()
        for round in 0..<30 {
            try await publisher.publish(OutgoingMessage(
                exchange: names.submittedExchange, routingKey: "fault",
                body: WireCodec.encode(RedeliveryTests.envelope(100, start: round * 100))))
            if round == 8 { try await Servers.restartPostgreSQL() }
            try await Task.sleep(for: .milliseconds(30))
        }
        #expect(try await TestEnvironment.eventually(timeout: .seconds(90)) { (try? await suite.total()) == 3000 })
        #expect(try sandbox.rows("SELECT count(*) FROM signatures") == 3000)
        #expect(try Recount.check(on: try sandbox.connection).isConsistent)
        await publisher.stop()
        await suite.stop()
    }

    @Test("database down: the count API answers from its last good view, saying how old it is")
    func countFromLastGoodView() async throws {
        try await Sandbox.with { sandbox in
            let suite = try await sandbox.start()
            #expect(try await suite.sign(email: "stale@example.org", country: "FR").status == 202)
            #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) { try await suite.total() == 1 })
            try await Servers.stopPostgreSQL()
            do {
                try await Task.sleep(for: .seconds(2))  // past the view's quarter of a second
                let reply = try await suite.get(port: suite.tallyPort, "/v1/petitions/digital-peace-now/count")
                #expect(reply.status == 200)
                #expect(reply.json["total"] as? Int == 1)
                #expect((reply.json["stale_seconds"] as? Int ?? 0) >= 2)
                #expect(Int(reply.headers["age"] ?? "") ?? 0 >= 2)
            } catch {
                Issue.record(error)
            }
            try await Servers.startPostgreSQL()
            #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) {
                let reply = try await suite.get(port: suite.tallyPort, "/v1/petitions/digital-peace-now/count")
                return reply.status == 200 && reply.json["stale_seconds"] is NSNull && reply.headers["age"] == nil
            })
            await suite.stop()
        }
    }

    @Test("broker down: intake answers 503 with Retry-After at once, is not ready, and recovers")
    func brokerDownBackPressure() async throws {
        try await Sandbox.with { sandbox in try await refusesAtOnce(sandbox) }
    }

    private func refusesAtOnce(_ sandbox: Sandbox) async throws {
        let suite = try await sandbox.start()
        #expect(try await suite.sign(email: "before@example.org", country: "FR").status == 202)
        let reconnects = try await suite.metric("undersigned_publisher_reconnects_total")
        let consumerReconnects = try await suite.metric("undersigned_consumer_reconnects_total")
        try await Servers.stopRabbitMQ()
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) {
            try await suite.get(port: suite.intakeOpsPort, "/health/ready").status == 503
        })
        let started = ContinuousClock.now
        let refused = try await suite.sign(email: "during@example.org", country: "FR")
        #expect(refused.status == 503)
        #expect(refused.headers["retry-after"] != nil)
        #expect(ContinuousClock.now - started < .seconds(2), "a 503 must come at once, not after a timeout")
        try await Servers.startRabbitMQ()
        #expect(try await TestEnvironment.eventually(timeout: .seconds(40)) {
            try await suite.sign(email: "after@example.org", country: "FR").status == 202
        })
        #expect(try await TestEnvironment.eventually(timeout: .seconds(40)) { try await suite.total() == 2 })
        // Every publisher (4 services) and consumer (3 queues) reconnected once, and the metrics say so.
        // (an idle publisher reconnects on its own back-off schedule, so this may take a few seconds more)
        #expect(try await TestEnvironment.eventually(timeout: .seconds(40)) {
            try await suite.metric("undersigned_publisher_reconnects_total") >= reconnects + 4
        })
        #expect(try await TestEnvironment.eventually(timeout: .seconds(40)) {
            try await suite.metric("undersigned_consumer_reconnects_total") >= consumerReconnects + 3
        })
        await suite.stop()
    }

    @Test("graceful shutdown under load: it stops promptly, and every 202 is counted after a restart")
    func gracefulShutdownUnderLoad() async throws {
        try await Sandbox.with { sandbox in try await drainsOnStop(sandbox) }
    }

    private func drainsOnStop(_ sandbox: Sandbox) async throws {
        let suite = try await sandbox.start()
        let accepted = SharedCount()
        let load = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for lane in 0..<16 {
                    group.addTask {
                        for i in 0..<200 {
                            guard let reply = try? await suite.sign(email: "graceful\(lane)-\(i)@example.org", country: "KE") else { return }
                            if reply.status == 202 { accepted.add() }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        #expect(try await TestEnvironment.eventually(timeout: .seconds(30)) { accepted.value >= 300 })
        let stopping = ContinuousClock.now
        await suite.stop()
        let took = ContinuousClock.now - stopping
        #expect(took < .seconds(20), "graceful shutdown took \(took)")
        print("graceful shutdown under load took \(took)")
        _ = await load.result
        let acknowledged = accepted.value

        // Whatever was acknowledged before the stop is counted once the workers are back.
        let again = try await sandbox.start()
        #expect(try await TestEnvironment.eventually(timeout: .seconds(60)) { try await again.total() == acknowledged }, "acknowledged \(acknowledged)")
        await again.stop()
    }
}

/// Counters shared by concurrent test tasks.
final class SharedCount: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}

final class SharedSet: Sendable {
    private let elements = Mutex<Set<String>>([])
    func insert(_ element: String) { _ = elements.withLock { $0.insert(element) } }
    var value: Set<String> { elements.withLock { $0 } }
}
