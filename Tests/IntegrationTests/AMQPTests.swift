import AMQP
import Foundation
import Messaging
import Synchronization
import Testing

@Suite("AMQP layer against a real broker")
struct AMQPTests {
    func publisher(_ names: TopologyNames, heartbeat: Int = 10, window: Int = 1000) -> AMQPPublisher {
        let publisher = AMQPPublisher(
            configuration: .init(connection: TestEnvironment.amqp("test-publisher", heartbeat: heartbeat), topology: .undersigned(names), window: window),
            logger: TestEnvironment.logger)
        publisher.start()
        return publisher
    }

    func message(_ names: TopologyNames, _ n: Int) -> OutgoingMessage {
        OutgoingMessage(exchange: names.submittedExchange, routingKey: "test", body: Array("message \(n)".utf8),
                        properties: MessageProperties(contentType: "text/plain", messageID: "m-\(n)"))
    }

    @Test("publish with confirms, consume in batches with multiple-ack, through a quorum queue")
    func publishAndConsume() async throws {
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        let publisher = publisher(names)
        // 2,000 messages from 200 concurrent callers, 10 each: confirms are windowed, never one at a time.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for caller in 0..<200 {
                group.addTask { try await publisher.publish((0..<10).map { message(names, caller * 10 + $0) }) }
            }
            try await group.waitForAll()
        }
        #expect(publisher.status.waiting == 0)
        let admin = try AMQPAdmin(configuration: TestEnvironment.amqp())
        #expect(try admin.queueStatus(names.dedupQueue).messages == 2000)

        let consumer = AMQPConsumer(
            configuration: .init(connection: TestEnvironment.amqp("test-consumer"), topology: .undersigned(names),
                                 queue: names.dedupQueue, prefetch: 300, batchSize: 100),
            logger: TestEnvironment.logger)
        consumer.start()
        var bodies = Set<String>()
        var batches = 0
        for await batch in consumer.batches {
            #expect(batch.deliveries.count <= 100)
            batches += 1
            for delivery in batch.deliveries { bodies.insert(String(decoding: delivery.body, as: UTF8.self)) }
            consumer.settle(batch)
            if bodies.count == 2000 { break }
        }
        await consumer.stop()
        #expect(bodies.count == 2000)
        #expect(batches >= 20)
        // Everything was acknowledged: nothing is left ready (unacked messages would be requeued on close).
        #expect(try await TestEnvironment.eventually(timeout: .seconds(10)) { try admin.queueStatus(names.dedupQueue).messages == 0 })
        await publisher.stop()
    }

    @Test("unsettled batches come back after the consumer goes away")
    func unsettledMessagesAreRedelivered() async throws {
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        let publisher = publisher(names)
        try await publisher.publish((0..<50).map { message(names, $0) })
        let configuration = AMQPConsumer.Configuration(
            connection: TestEnvironment.amqp("test-consumer"), topology: .undersigned(names), queue: names.dedupQueue,
            prefetch: 100, batchSize: 50, batchWait: .milliseconds(50), drainTimeout: .milliseconds(200))
        let first = AMQPConsumer(configuration: configuration, logger: TestEnvironment.logger)
        first.start()
        var iterator = first.batches.makeAsyncIterator()
        let batch = try #require(await iterator.next())
        #expect(batch.deliveries.allSatisfy { !$0.redelivered })
        await first.stop()  // never settled

        let second = AMQPConsumer(configuration: configuration, logger: TestEnvironment.logger)
        second.start()
        var seen = 0
        var redelivered = 0
        for await batch in second.batches {
            seen += batch.deliveries.count
            redelivered += batch.deliveries.filter(\.redelivered).count
            second.settle(batch)
            if seen >= 50 { break }
        }
        await second.stop()
        #expect(seen == 50)
        #expect(redelivered == batch.deliveries.count)
        await publisher.stop()
    }

    @Test("a channel closed by the broker becomes a typed error, and the publisher carries on")
    func channelCloseIsATypedError() async throws {
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        let publisher = publisher(names)
        do {
            try await publisher.publish(OutgoingMessage(exchange: names.prefix + "no-such-exchange", routingKey: "x", body: [1]))
            Issue.record("publishing to a missing exchange succeeded")
        } catch let error as AMQPError {
            #expect(error.code == .channelClosed)
            #expect(error.replyCode == 404)
            #expect(!error.isRetryable)
        }
        // RabbitMQ refuses a user_id that is not the connection's login (partners' provenance relies on it).
        var forged = message(names, 1)
        forged.properties.userID = "mallory"
        do {
            try await publisher.publish(forged)
            Issue.record("a forged user_id was accepted")
        } catch let error as AMQPError {
            #expect(error.code == .channelClosed)
            #expect(error.replyCode == 406)
        }
        try await publisher.publish(message(names, 2))
        await publisher.stop()
    }

    @Test("an unroutable message fails as unroutable instead of disappearing")
    func unroutableIsReported() async throws {
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        let publisher = publisher(names)
        async let good: Void = publisher.publish(message(names, 1))
        do {
            try await publisher.publish(OutgoingMessage(exchange: names.deadExchange, routingKey: "nowhere", body: [1]))
            Issue.record("an unroutable message was confirmed")
        } catch let error as AMQPError {
            #expect(error.code == .unroutable)
            #expect(error.replyCode == 312)
        }
        try await good
        await publisher.stop()
    }

    @Test("more distinct routing keys than the interning cache holds: every message goes to its exchange on one connection")
    func manyRoutingKeys() async throws {
        // Before the fix, interning the routing key could reset the arena holding the exchange name interned
        // a moment before (past 1,024 names): a use-after-free that published to garbage (404, a reconnect).
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        let publisher = publisher(names)
        for round in 0..<5 {
            try await publisher.publish((0..<500).map { n in
                OutgoingMessage(exchange: names.submittedExchange, routingKey: "partner-\(round)-\(n)", body: Array("m \(round) \(n)".utf8))
            })
        }
        #expect(publisher.status.connections == 1, "a publish to a freed name closed the channel")
        let admin = try AMQPAdmin(configuration: TestEnvironment.amqp())
        #expect(try admin.queueStatus(names.dedupQueue).messages == 2_500)
        await publisher.stop()
    }

    @Test("heartbeats keep an idle connection alive")
    func heartbeatsWhileIdle() async throws {
        let names = TestEnvironment.topologyNames()
        defer { TestEnvironment.dropTopology(names) }
        // With a 1 s heartbeat the broker closes a connection that is silent for about 2 s.
        let publisher = publisher(names, heartbeat: 1)
        try await publisher.publish(message(names, 1))
        let connectionsBefore = publisher.status.connections
        try await Task.sleep(for: .seconds(4))
        #expect(publisher.status.connected)
        try await publisher.publish(message(names, 2))
        #expect(publisher.status.connections == connectionsBefore, "the publisher had to reconnect: heartbeats were not sent")
        await publisher.stop()
    }
}
