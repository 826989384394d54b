import DequeModule
import Foundation
import IOCore
import Logging
import Metrics
import Synchronization

/// Publishes persistent messages with a window of publisher confirms on one connection owned by one thread.
///
/// Async callers hand over a group of messages and resume once the broker confirmed every one of them;
/// thousands of callers can be in flight at once, and their messages share the confirm window (never
/// one confirm at a time). When the connection is lost, the thread reconnects with back-off, redeclares
/// the topology and republishes everything that was not confirmed; a caller gets an error only if its
/// messages could not be confirmed before its deadline, or the broker refused them.
///
/// Its life is a `ConnectionLifecycle`; as a `Service` it starts with its group and drains its confirms
/// when the group stops.
public final class AMQPPublisher: ConnectionOwner {
    public struct Configuration: Sendable {
        public var connection: AMQPConfiguration
        /// Declared on every (re)connect.
        public var topology: Topology
        /// Most messages published and not yet confirmed. Default 1,000.
        public var window: Int
        /// Most messages waiting (not yet confirmed) before `publish` fails at once with `.overloaded`. Default 200,000.
        public var maximumWaiting: Int
        /// How long a message may wait for its confirm, including reconnects, before its caller gets `.timeout`. Default 30 s.
        public var publishTimeout: Duration
        /// How long `stop()` waits for outstanding confirms. Default 10 s.
        public var drainTimeout: Duration

        public init(
            connection: AMQPConfiguration, topology: Topology, window: Int = 1000, maximumWaiting: Int = 200_000,
            publishTimeout: Duration = .seconds(30), drainTimeout: Duration = .seconds(10)
        ) {
            self.connection = connection
            self.topology = topology
            self.window = window
            self.maximumWaiting = maximumWaiting
            self.publishTimeout = publishTimeout
            self.drainTimeout = drainTimeout
        }
    }

    /// Connection state as the outside sees it.
    public struct Status: Sendable, Equatable {
        public var connected: Bool
        /// The broker blocks publishers (memory or disk alarm).
        public var blocked: Bool
        /// Messages accepted by `publish` and not yet confirmed or failed.
        public var waiting: Int
        /// Connections opened so far (1 + reconnects).
        public var connections: Int
    }

    private let configuration: Configuration
    private let logger: Logger
    private let shared: Mutex<Shared>
    private let wakeup = Wakeup()
    private let io: IOState
    private let metrics = PublisherMetrics()

    private struct Shared {
        var inbox: [Item] = []
        var waiting = 0
        var blocked = false
        var lifecycle = ConnectionLifecycle<CheckedContinuation<Void, Never>>()
    }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.shared = Mutex(Shared())
        self.io = IOState()
    }

    public var status: Status {
        shared.withLock {
            Status(connected: $0.lifecycle.isConnected, blocked: $0.blocked, waiting: $0.waiting, connections: $0.lifecycle.connections)
        }
    }

    /// Starts the I/O thread. Idempotent.
    public func start() {
        guard shared.withLock({ $0.lifecycle.start() }) else { return }
        let thread = Thread { [self] in runThread() }
        thread.name = "amqp-publisher"
        thread.start()
    }

    /// Publishes `messages` and returns once the broker confirmed all of them.
    /// Throws `AMQPError` (`.nacked`, `.unroutable`, `.timeout`, `.overloaded`, `.closed`, `.channelClosed`).
    public func publish(_ messages: [OutgoingMessage]) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            publish(messages) { result in continuation.resume(with: result.mapError { $0 as any Error }) }
        }
    }

    public func publish(_ message: OutgoingMessage) async throws {
        try await publish([message])
    }

    /// Callback form of `publish`: `completion` runs once, on the I/O thread, when all are confirmed or one failed.
    /// Keep it short; resuming a continuation is the intended use.
    public func publish(_ messages: [OutgoingMessage], completion: @escaping @Sendable (Result<Void, AMQPError>) -> Void) {
        guard !messages.isEmpty else { return completion(.success(())) }
        let group = Group(count: messages.count, deadline: .now + configuration.publishTimeout, completion: completion)
        enum Admission { case queuedFirst, queued, refused(AMQPError) }
        let admission: Admission = shared.withLock { state in
            if !state.lifecycle.acceptsWork { return .refused(AMQPError(code: .closed, message: "the publisher is shutting down")) }
            if state.waiting + messages.count > configuration.maximumWaiting {
                return .refused(AMQPError(code: .overloaded, message: "\(state.waiting) messages are already waiting for the broker"))
            }
            let wasEmpty = state.inbox.isEmpty
            state.inbox.append(contentsOf: messages.map { Item(message: $0, group: group) })
            state.waiting += messages.count
            return wasEmpty ? .queuedFirst : .queued
        }
        switch admission {
        case .queuedFirst: wakeup.signal()  // the I/O thread takes the whole inbox, so one wake-up per batch
        case .queued: break
        case .refused(let error): completion(.failure(error))
        }
    }

    /// Stops taking messages, publishes what was accepted, waits for their confirms (up to the drain
    /// timeout), fails what is left with `.closed`, and closes the connection. Never started, it fails what
    /// was handed over at once.
    public func stop() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (action, unsent) = shared.withLock { state in
                let action = state.lifecycle.stop(waiter: continuation, now: .now, drainTimeout: configuration.drainTimeout)
                guard case .resume = action else { return (action, [Item]()) }
                defer { state.inbox.removeAll() }
                return (action, state.inbox)
            }
            switch action {
            case .resume(let waiters):
                let closed = AMQPError(code: .closed, message: "the publisher stopped before it started")
                for item in unsent { finish(item, .failure(closed)) }
                for waiter in waiters { waiter.resume() }
            case .wakeToDrain: wakeup.signal()
            case .wait: break
            }
        }
    }

    // MARK: - The I/O thread

    /// One `publish` call's messages: completes once, when the last is confirmed or the first fails.
    /// Touched only by the I/O thread after it leaves the inbox.
    private final class Group: @unchecked Sendable {
        var remaining: Int
        var done = false
        let deadline: ContinuousClock.Instant
        let completion: @Sendable (Result<Void, AMQPError>) -> Void

        init(count: Int, deadline: ContinuousClock.Instant, completion: @escaping @Sendable (Result<Void, AMQPError>) -> Void) {
            self.remaining = count
            self.deadline = deadline
            self.completion = completion
        }
    }

    private struct Item: Routed, @unchecked Sendable {
        var message: OutgoingMessage
        let group: Group
        var exchange: String { message.exchange }
        var routingKey: String { message.routingKey }
    }

    /// State owned by the I/O thread alone.
    private final class IOState: @unchecked Sendable {
        var connection: AMQPConnection?
        var backlog = Deque<Item>()
        var inFlight = ConfirmTracker<Item>()
        var blocked = false
        var lastHeard = ContinuousClock.now
    }

    /// The I/O thread: asks the lifecycle what to do each turn (connect, publish and read, or finish).
    private func runThread() {
        while true {
            let next = shared.withLock { state in
                defer { state.inbox.removeAll(keepingCapacity: true) }
                io.backlog.append(contentsOf: state.inbox)
                return state.lifecycle.next(now: .now, holdsWork: !io.backlog.isEmpty || !io.inFlight.isEmpty)
            }
            expireBacklog()
            metrics.inFlight.record(io.inFlight.count)
            metrics.backlog.record(io.backlog.count)
            let turn = IOTurn(
                wakeup: wakeup, connection: io.connection, connect: connect,
                connectFailed: { self.shared.withLock { $0.lifecycle.connectFailed() } }, lose: lose)
            if !turn.take(next, work: cycle) { break }
        }
        let leftover = AMQPError(code: .closed, message: "the publisher shut down before the broker confirmed")
        for item in io.inFlight.reset() { finish(item, .failure(leftover)) }
        for item in io.backlog { finish(item, .failure(leftover)) }
        io.backlog.removeAll()
        io.connection?.close()
        io.connection = nil
        let waiters = shared.withLock { state in
            let leftovers = state.inbox
            state.inbox.removeAll()
            return (state.lifecycle.finished(), leftovers)
        }
        for item in waiters.1 { finish(item, .failure(leftover)) }
        for waiter in waiters.0 { waiter.resume() }
    }

    /// Opens the connection (declaring the topology, confirms on); false when it could not.
    private func connect() -> Bool {
        do {
            let connection = try AMQPConnection(configuration: configuration.connection)
            try connection.declare(configuration.topology)
            try connection.confirmSelect()
            io.connection = connection
            io.blocked = false
            io.lastHeard = .now
            let reconnect = shared.withLock {
                $0.blocked = false
                return $0.lifecycle.connected()
            }
            if reconnect { metrics.reconnects.increment() }
            logger.info("publisher connected", metadata: ["broker": "\(configuration.connection.redacted)"])
            return true
        } catch {
            logger.warning("publisher cannot connect", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// One turn: publish what the window allows, wait for the socket or a wake-up, read all ready frames.
    private func cycle(_ connection: AMQPConnection) throws {
        var published = 0
        while !io.blocked, io.inFlight.count < configuration.window, let item = io.backlog.popFirst() {
            if item.group.done {  // its group already failed; don't publish the rest
                finishAbandoned(item)
                continue
            }
            do {
                try connection.publish(item.message)
            } catch {
                io.backlog.prepend(item)
                throw error
            }
            io.inFlight.published(item)
            published += 1
        }
        if published > 0 { metrics.published.increment(by: published) }
        let heartbeat = Duration.seconds(max(1, configuration.connection.heartbeat))
        if !connection.hasBufferedInput {
            let canPublishMore = !io.blocked && !io.backlog.isEmpty && io.inFlight.count < configuration.window
            let readable = wakeup.wait(socket: connection.fileDescriptor, timeout: canPublishMore ? .zero : heartbeat / 2)
            if readable { io.lastHeard = .now }
        }
        while let frame = try connection.pollFrame() {
            io.lastHeard = .now
            handle(frame)
        }
        if configuration.connection.heartbeat > 0, ContinuousClock.now - io.lastHeard > heartbeat * 2.5 {
            throw AMQPError(code: .connection, message: "no heartbeat from the broker for \(heartbeat * 2.5)")
        }
    }

    private func handle(_ frame: IncomingFrame) {
        switch frame {
        case .ack(let tag, let multiple):
            for (item, outcome) in io.inFlight.acked(tag, multiple: multiple) { finish(item, outcome) }
        case .nack(let tag, let multiple):
            let nacked = io.inFlight.nacked(tag, multiple: multiple)
            metrics.nacks.increment(by: nacked.count)
            for item in nacked {
                finish(item, .failure(AMQPError(code: .nacked, message: "the broker could not take the message")))
            }
        case .returned(let code, let exchange, let routingKey):
            metrics.returns.increment()
            io.inFlight.returned(replyCode: code, exchange: exchange, routingKey: routingKey)
        case .blocked:
            io.blocked = true
            shared.withLock { $0.blocked = true }
            logger.warning("the broker blocks publishers (resource alarm)")
        case .unblocked:
            io.blocked = false
            shared.withLock { $0.blocked = false }
            logger.info("the broker unblocked publishers")
        case .delivery, .consumerCancelled, .other:
            break
        }
    }

    /// The connection or channel is gone. Unconfirmed messages go back to the front of the backlog to be
    /// republished after the reconnect (consumers are idempotent), except when the broker closed the
    /// channel over something we sent: then they fail, so callers learn of it instead of looping.
    private func lose(_ connection: AMQPConnection, because error: any Error) {
        let amqpError = error as? AMQPError ?? AMQPError(code: .connection, message: "\(error)")
        logger.warning("publisher lost its connection", metadata: ["error": "\(amqpError)", "unconfirmed": "\(io.inFlight.count)"])
        let unconfirmed = io.inFlight.reset()
        if amqpError.code == .channelClosed {
            connection.close()
            for item in unconfirmed { finish(item, .failure(amqpError)) }
        } else {
            connection.abandon()
            io.backlog.prepend(contentsOf: unconfirmed)
        }
        io.connection = nil
        shared.withLock { $0.lifecycle.lost() }
    }

    /// What the publisher exports. One set per process: a service has one publisher (tests that run
    /// several in one process see their sums).
    private struct PublisherMetrics {
        let published = Counter(label: "undersigned_publisher_messages_published_total")
        let nacks = Counter(label: "undersigned_publisher_nacks_total")
        let returns = Counter(label: "undersigned_publisher_returns_total")
        let reconnects = Counter(label: "undersigned_publisher_reconnects_total")
        /// Published and not yet confirmed (at most the window).
        let inFlight = Gauge(label: "undersigned_publisher_confirms_in_flight")
        /// Accepted from callers and not yet published (waiting for the window, a reconnect or an unblock).
        let backlog = Gauge(label: "undersigned_publisher_backlog_messages")
    }

    private func expireBacklog() {
        let now = ContinuousClock.now
        guard let first = io.backlog.first, first.group.deadline <= now || first.group.done else { return }
        io.backlog.removeAll { item in
            if item.group.done { finishAbandoned(item); return true }
            guard item.group.deadline <= now else { return false }
            finish(item, .failure(AMQPError(code: .timeout, message: "the broker did not confirm in time")))
            return true
        }
    }

    private func finish(_ item: Item, _ result: Result<Void, AMQPError>) {
        shared.withLock { $0.waiting -= 1 }
        let group = item.group
        guard !group.done else { return }
        switch result {
        case .success:
            group.remaining -= 1
            if group.remaining == 0 {
                group.done = true
                group.completion(.success(()))
            }
        case .failure(let error):
            group.done = true
            group.completion(.failure(error))
        }
    }

    /// An item of a group that already failed: only the count of waiting messages changes.
    private func finishAbandoned(_ item: Item) {
        shared.withLock { $0.waiting -= 1 }
    }
}
