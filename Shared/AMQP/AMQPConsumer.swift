import DequeModule
import Foundation
import IOCore
import Logging
import Metrics
import Synchronization

/// Deliveries handed to a handler together. Settle it with `AMQPConsumer.settle(_:)` once its effects are
/// durable; until then its messages stay unacknowledged and are redelivered if anything dies.
public struct DeliveryBatch: Sendable {
    public let deliveries: [Delivery]
    /// The connection the deliveries came on; a settle for an older connection is ignored
    /// (the broker already requeued those messages when it went away).
    let generation: Int
}

/// Consumes one queue in batches on a connection owned by one thread.
///
/// The thread keeps up to `prefetch` messages coming, and hands out a batch when `batchSize` are ready or
/// the oldest has waited `batchWait`. One batch is out at a time; settling it acks all its messages with one
/// `basic.ack(multiple)`. On a lost connection the thread reconnects with back-off, redeclares the topology
/// and consumes again; unsettled messages come back from the broker as redeliveries.
///
/// Its life is a `ConnectionLifecycle`; as a `Service` it starts with its group and stops after the
/// `BatchWorker` that settles its batches (list it before the worker).
public final class AMQPConsumer: ConnectionOwner {
    public struct Configuration: Sendable {
        public var connection: AMQPConfiguration
        public var topology: Topology
        public var queue: String
        /// Unacknowledged messages the broker sends ahead (`basic.qos`, per consumer). Default 400.
        public var prefetch: Int
        /// Most deliveries in one batch. Default 200.
        public var batchSize: Int
        /// A batch also closes once its bodies add up to this many bytes (at least one delivery), so that
        /// a batch of large envelopes stays a bounded amount of work and memory. Default 512 KiB.
        public var batchBytes: Int
        /// How long the first delivery of a batch waits for more. Default 5 ms.
        public var batchWait: Duration
        /// How long `stop()` waits for the batch in hand to be settled. Default 30 s.
        public var drainTimeout: Duration

        public init(
            connection: AMQPConfiguration, topology: Topology, queue: String, prefetch: Int = 400,
            batchSize: Int = 200, batchBytes: Int = 1 << 19, batchWait: Duration = .milliseconds(5),
            drainTimeout: Duration = .seconds(30)
        ) {
            self.connection = connection
            self.topology = topology
            self.queue = queue
            self.prefetch = prefetch
            self.batchSize = batchSize
            self.batchBytes = batchBytes
            self.batchWait = batchWait
            self.drainTimeout = drainTimeout
        }
    }

    public enum Settlement: Sendable {
        /// Every message of the batch is done with (handled, or dead-lettered by the handler).
        case ack
        /// Give every message back to the queue (counts towards the delivery limit).
        case requeue
    }

    /// The batches, in order. Finishes after `stop()` once the batch in hand is settled.
    public let batches: AsyncStream<DeliveryBatch>
    private let continuation: AsyncStream<DeliveryBatch>.Continuation
    private let configuration: Configuration
    private let logger: Logger
    private let shared = Mutex(Shared())
    private let wakeup = Wakeup()
    private let io = IOState()
    private let reconnects: Counter

    private struct Shared {
        var settlements: [(DeliveryBatch, Settlement)] = []
        /// Queues to consume besides the configured one, with what to declare for them (kept for reconnects).
        var extra: [String: Topology] = [:]
        var extraVersion = 0
        var lifecycle = ConnectionLifecycle<CheckedContinuation<Void, Never>>()
    }

    /// Owned by the I/O thread alone.
    private final class IOState: @unchecked Sendable {
        var connection: AMQPConnection?
        var consumerTags: [String] = []
        /// The extra queues consumed on the current connection.
        var consumedExtra: Set<String> = []
        var consumedExtraVersion = 0
        var generation = 0
        var buffer = Deque<Delivery>()
        var firstBufferedAt = ContinuousClock.now
        var outstanding: Int?  // generation of the batch handed out, if any
        var lastHeard = ContinuousClock.now
        /// The consumers were cancelled for the drain on the current connection.
        var cancelled = false
    }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.reconnects = Counter(label: "undersigned_consumer_reconnects_total", dimensions: [("queue", configuration.queue)])
        (batches, continuation) = AsyncStream.makeStream(of: DeliveryBatch.self, bufferingPolicy: .unbounded)
    }

    public var isConnected: Bool { shared.withLock { $0.lifecycle.isConnected } }

    /// Starts the I/O thread. Idempotent.
    public func start() {
        guard shared.withLock({ $0.lifecycle.start() }) else { return }
        let thread = Thread { [self] in runThread() }
        thread.name = "amqp-consumer"
        thread.start()
    }

    /// Also consumes `queue` on the same channel (its deliveries join the same batches), declaring
    /// `topology` first, now and after every reconnect. Idempotent. Dedup uses it for partners' queues,
    /// which appear while it runs.
    public func consume(also queue: String, declaring topology: Topology) {
        let added = shared.withLock { state in
            guard state.extra[queue] == nil else { return false }
            state.extra[queue] = topology
            state.extraVersion += 1
            return true
        }
        if added { wakeup.signal() }
    }

    /// Acknowledges (or requeues) every message of `batch`.
    public func settle(_ batch: DeliveryBatch, _ settlement: Settlement = .ack) {
        shared.withLock { $0.settlements.append((batch, settlement)) }
        wakeup.signal()
    }

    /// True once a stop was requested.
    public var isStopping: Bool { shared.withLock { $0.lifecycle.isStopping } }

    /// Asks the consumer to stop (see `stop()`) without waiting: the worker's cue, so that the batches end
    /// once the one in hand is settled.
    public func requestStop() {
        act(on: shared.withLock { $0.lifecycle.stop(waiter: nil, now: .now, drainTimeout: configuration.drainTimeout) })
    }

    /// Stops taking messages; returns once the batch in hand was settled (or the drain timeout passed)
    /// and the connection is closed. Unhanded buffered messages go back to the queue.
    public func stop() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            act(on: shared.withLock { $0.lifecycle.stop(waiter: waiter, now: .now, drainTimeout: configuration.drainTimeout) })
        }
    }

    private func act(on stop: ConnectionLifecycle<CheckedContinuation<Void, Never>>.StopAction) {
        switch stop {
        case .resume(let waiters):
            continuation.finish()
            for waiter in waiters { waiter.resume() }
        case .wakeToDrain: wakeup.signal()
        case .wait: break
        }
    }

    // MARK: - The I/O thread

    /// The I/O thread: settles what the worker settled, then asks the lifecycle what to do (connect,
    /// consume, drain the batch in hand, or finish).
    private func runThread() {
        while true {
            let settlements = shared.withLock { state in
                defer { state.settlements.removeAll() }
                return state.settlements
            }
            if let connection = io.connection {
                do { try apply(settlements, on: connection) } catch { lose(connection, because: error) }
            }
            let next = shared.withLock { $0.lifecycle.next(now: .now, holdsWork: io.outstanding != nil) }
            let turn = IOTurn(
                wakeup: wakeup, connection: io.connection, connect: connect,
                connectFailed: { self.shared.withLock { $0.lifecycle.connectFailed() } }, lose: lose)
            let more = turn.take(next) { connection in
                if case .drain(let deadline) = next {
                    try cancelConsumers(on: connection)
                    try cycle(connection, stopping: true, drainDeadline: deadline)
                } else {
                    try consumeExtraQueues(on: connection)
                    try cycle(connection, stopping: false, drainDeadline: nil)
                }
            }
            if !more { break }
        }
        io.connection?.close()
        io.connection = nil
        continuation.finish()
        for waiter in shared.withLock({ $0.lifecycle.finished() }) { waiter.resume() }
    }

    /// Draining: the broker sends no more (what it sent ahead goes back to the queue with the connection).
    private func cancelConsumers(on connection: AMQPConnection) throws {
        guard !io.cancelled else { return }
        for tag in io.consumerTags { try connection.cancel(consumerTag: tag) }
        io.consumerTags.removeAll()
        io.cancelled = true
    }

    /// Opens the connection, declares, consumes; false when it could not.
    private func connect() -> Bool {
        do {
            let connection = try AMQPConnection(configuration: configuration.connection)
            try connection.declare(configuration.topology)
            try connection.qos(prefetch: configuration.prefetch)
            io.consumerTags = [try connection.consume(queue: configuration.queue)]
            io.consumedExtra = []
            io.consumedExtraVersion = -1
            io.connection = connection
            io.generation += 1
            io.buffer.removeAll()
            io.outstanding = nil
            io.lastHeard = .now
            io.cancelled = false
            if shared.withLock({ $0.lifecycle.connected() }) { reconnects.increment() }
            logger.info("consumer connected", metadata: ["queue": "\(configuration.queue)"])
            return true
        } catch {
            logger.warning("consumer cannot connect", metadata: ["queue": "\(configuration.queue)", "error": "\(error)"])
            return false
        }
    }

    private func apply(_ settlements: [(DeliveryBatch, Settlement)], on connection: AMQPConnection) throws {
        for (batch, settlement) in settlements {
            guard batch.generation == io.generation, let last = batch.deliveries.last else { continue }
            switch settlement {
            case .ack:
                try connection.ack(last.deliveryTag, multiple: true)
            case .requeue:
                for delivery in batch.deliveries { try connection.reject(delivery.deliveryTag, requeue: true) }
            }
            io.outstanding = nil
        }
    }

    /// Declares and consumes the extra queues not yet consumed on this connection.
    private func consumeExtraQueues(on connection: AMQPConnection) throws {
        guard let extra = shared.withLock({ $0.extraVersion == io.consumedExtraVersion ? nil : ($0.extra, $0.extraVersion) }) else { return }
        for (queue, topology) in extra.0.sorted(by: { $0.key < $1.key }) where !io.consumedExtra.contains(queue) {
            try connection.declare(topology)
            io.consumerTags.append(try connection.consume(queue: queue))
            io.consumedExtra.insert(queue)
            logger.info("consuming another queue", metadata: ["queue": "\(queue)"])
        }
        io.consumedExtraVersion = extra.1
    }

    /// How many buffered deliveries make the next batch, or nil while it should wait for more.
    private func readyBatchCount() -> Int? {
        var count = 0, bytes = 0
        for delivery in io.buffer {
            guard count < configuration.batchSize, count == 0 || bytes < configuration.batchBytes else { return count }
            count += 1
            bytes += delivery.body.count
        }
        let full = count >= configuration.batchSize || bytes >= configuration.batchBytes
        return full || ContinuousClock.now - io.firstBufferedAt >= configuration.batchWait ? count : nil
    }

    private func cycle(_ connection: AMQPConnection, stopping: Bool, drainDeadline: ContinuousClock.Instant?) throws {
        if io.outstanding == nil, !stopping, !io.buffer.isEmpty, let count = readyBatchCount() {
            let deliveries = Array(io.buffer.prefix(count))
            io.buffer.removeFirst(count)
            io.firstBufferedAt = .now
            io.outstanding = io.generation
            continuation.yield(DeliveryBatch(deliveries: deliveries, generation: io.generation))
        }
        let heartbeat = Duration.seconds(max(1, configuration.connection.heartbeat))
        if !connection.hasBufferedInput {
            var timeout = heartbeat / 2
            if io.outstanding == nil && !io.buffer.isEmpty {
                timeout = max(.zero, configuration.batchWait - (ContinuousClock.now - io.firstBufferedAt))
            }
            if let drainDeadline {
                timeout = min(timeout, max(.zero, drainDeadline - .now))
            }
            if wakeup.wait(socket: connection.fileDescriptor, timeout: timeout) { io.lastHeard = .now }
        }
        var read = 0
        while read < configuration.prefetch, let frame = try connection.pollDelivery() {
            io.lastHeard = .now
            read += 1
            switch frame {
            case .delivery(let delivery):
                if io.buffer.isEmpty { io.firstBufferedAt = .now }
                io.buffer.append(delivery)
            case .consumerCancelled:
                throw AMQPError(code: .channelClosed, message: "the broker cancelled the consumer of \(configuration.queue)")
            default:
                break
            }
        }
        if configuration.connection.heartbeat > 0, ContinuousClock.now - io.lastHeard > heartbeat * 2.5 {
            throw AMQPError(code: .connection, message: "no heartbeat from the broker for \(heartbeat * 2.5)")
        }
    }

    private func lose(_ connection: AMQPConnection, because error: any Error) {
        logger.warning("consumer lost its connection", metadata: ["queue": "\(configuration.queue)", "error": "\(error)"])
        if (error as? AMQPError)?.code == .channelClosed { connection.close() } else { connection.abandon() }
        io.connection = nil
        io.consumerTags.removeAll()
        io.consumedExtra = []
        io.consumedExtraVersion = -1
        io.buffer.removeAll()
        io.outstanding = nil  // the broker requeues it; a late settle carries an old generation
        shared.withLock { $0.lifecycle.lost() }
    }
}
