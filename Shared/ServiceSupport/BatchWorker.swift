import AMQP
import Foundation
import IOCore
import Logging
import Metrics
import Postgres
import ServiceLifecycle

/// Handles a batch of deliveries: does its work (one database transaction, downstream publishes with
/// confirms) and returns the deliveries that can never succeed. Throwing means "nothing was done":
/// a retryable error retries the batch, any other error makes the worker try each delivery alone.
public protocol BatchHandler: Sendable {
    func handle(_ deliveries: [Delivery]) async throws -> [DeadLetter]
}

/// Consumes a queue in batches and wraps the handler with what every consumer needs: retry with
/// back-off on transient failures, dead-lettering with a reason (confirmed before the ack), isolation of
/// a poison message by retrying deliveries one at a time, metrics, and a graceful stop that finishes and
/// acks the batch in hand. The consumer is a service of its own, listed before the worker (so it stops
/// after it): the worker only asks it to stop taking messages, then settles what it holds.
public struct BatchWorker: Service {
    let consumer: AMQPConsumer
    let publisher: AMQPPublisher
    let handler: any BatchHandler
    let service: String
    let queue: String
    let deadExchange: String
    let logger: Logger
    private let processed: Counter
    private let deadLettered: Counter
    private let retries: Counter
    private let batchSeconds: Timer
    private let batchMessages: Recorder

    public init(
        consumer: AMQPConsumer, publisher: AMQPPublisher, handler: any BatchHandler, service: String, queue: String,
        deadExchange: String, logger: Logger
    ) {
        self.consumer = consumer
        self.publisher = publisher
        self.handler = handler
        self.service = service
        self.queue = queue
        self.deadExchange = deadExchange
        self.logger = logger
        let dimensions = [("queue", queue)]
        processed = Counter(label: "undersigned_messages_processed_total", dimensions: dimensions)
        deadLettered = Counter(label: "undersigned_messages_dead_lettered_total", dimensions: dimensions)
        retries = Counter(label: "undersigned_batch_retries_total", dimensions: dimensions)
        batchSeconds = Timer(label: "undersigned_batch_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds)
        batchMessages = Recorder(label: "undersigned_batch_messages", dimensions: dimensions, aggregate: true)
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await batch in consumer.batches {  // ends once the consumer stopped and the batch in hand is settled
                await process(batch)
            }
        } onGracefulShutdown: {
            consumer.requestStop()
        }
    }

    func process(_ batch: DeliveryBatch) async {
        let started = ContinuousClock.now
        batchMessages.record(batch.deliveries.count)
        var failures = 0
        while true {
            do {
                let dead = try await handler.handle(batch.deliveries)
                try await deadLetter(dead)
                consumer.settle(batch, .ack)
                processed.increment(by: batch.deliveries.count)
                batchSeconds.record(duration: ContinuousClock.now - started)
                return
            } catch where Self.isShutdown(error) {
                // Our own publisher or pool is closing: nothing about the batch is wrong. Give it back; the
                // broker hands it to another consumer (or to us after a restart).
                logger.warning("batch given back: shutting down", metadata: ["queue": "\(queue)", "error": "\(error)"])
                consumer.settle(batch, .requeue)
                return
            } catch where Self.isRetryable(error) {
                retries.increment()
                let delay = Self.retry.delay(after: failures)
                logger.warning("batch failed, retrying", metadata: ["queue": "\(queue)", "error": "\(error)", "in": "\(delay)"])
                if consumer.isStopping && Self.retry.ceiling(after: failures) >= .seconds(2) {
                    // Shutting down and the failure persists: leave the batch unacked; the broker redelivers it.
                    return
                }
                try? await Task.sleep(for: delay)
                failures += 1
            } catch {
                logger.error("batch failed; handling its messages one at a time", metadata: ["queue": "\(queue)", "error": "\(error)"])
                if await processOneByOne(batch) { return }
            }
        }
    }

    /// A non-retryable failure: find the message(s) that cause it. Returns false if a retryable failure
    /// got in the way (the whole batch is then tried again).
    private func processOneByOne(_ batch: DeliveryBatch) async -> Bool {
        var dead: [DeadLetter] = []
        for delivery in batch.deliveries {
            do {
                dead += try await handler.handle([delivery])
            } catch where Self.isRetryable(error) || Self.isShutdown(error) {
                return false
            } catch {
                dead.append(DeadLetter(delivery: delivery, code: "handler_failed", reason: "\(error)"))
            }
        }
        do {
            try await deadLetter(dead)
        } catch {
            return false
        }
        consumer.settle(batch, .ack)
        processed.increment(by: batch.deliveries.count)
        return true
    }

    private func deadLetter(_ dead: [DeadLetter]) async throws {
        guard !dead.isEmpty else { return }
        for letter in dead {
            logger.warning("dead-lettering a message", metadata: [
                "queue": "\(queue)", "code": "\(letter.code)", "reason": "\(letter.reason)",
                "message_id": "\(letter.delivery.properties.messageID ?? "")",
            ])
        }
        try await publisher.publish(dead.map { $0.message(service: service, queue: queue, deadExchange: deadExchange) })
        deadLettered.increment(by: dead.count)
    }

    /// A batch that failed for a passing reason is tried again after 50 ms, doubling to 5 s.
    static let retry = Backoff(base: .milliseconds(50), maximum: .seconds(5))

    /// The process is stopping under the handler: the publisher shut down, or the pool closed.
    static func isShutdown(_ error: any Error) -> Bool {
        switch error {
        case let error as AMQPError: error.code == .closed
        case let error as PostgresError: error.code == .closed
        default: false
        }
    }

    /// Errors worth trying again with the same batch. A database error that is not about the data (a
    /// syntax error after a bad deploy, a missing table, a permission) is retried too: dead-lettering
    /// every message would only hide the fault; the batch waits, unacked, until it is fixed.
    static func isRetryable(_ error: any Error) -> Bool {
        switch error {
        case let error as PostgresError: error.isRetryable || !error.isDataError
        case let error as AMQPError: error.isRetryable
        default: false
        }
    }
}
