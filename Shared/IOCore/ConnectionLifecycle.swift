/// The life of a connection owned by an I/O thread, as one state machine: events in, actions out, no I/O,
/// no locks, no clock of its own (the owner keeps it under its lock and passes the time). `AMQPPublisher`,
/// `AMQPConsumer` and `PostgresPool` each keep one instead of loose `started`, `stopping`, `stopped` and
/// `connected` flags.
///
///     idle ──start──▶ running(link) ──stop──▶ draining(link, deadline) ──finished──▶ stopped
///       └───────────────────────stop (never started)──────────────────────────────────▲
///
/// The link is `disconnected(failures)` or `connected`, in running and draining alike: `connected`,
/// `connectFailed` and `lost` move it. The thread asks `next` what to do each turn.
public struct ConnectionLifecycle<Waiter> {
    public enum Link: Equatable, Sendable {
        /// No connection; `failures` attempts failed since the last good one (for the back-off).
        case disconnected(failures: Int)
        case connected
    }

    public enum State: Equatable, Sendable {
        /// Created; no thread yet. Work handed over now waits for the start.
        case idle
        case running(Link)
        /// Stop asked: no new work; what is held is finished until the deadline (nil: no deadline).
        case draining(Link, deadline: ContinuousClock.Instant?)
        /// The thread is done and the connection closed.
        case stopped
    }

    public private(set) var state: State = .idle
    /// Connections made so far (1 + reconnects).
    public private(set) var connections = 0
    /// Callers of a stop that wait for the thread to be done.
    private var waiters: [Waiter] = []
    private let backoff: Backoff

    public init(backoff: Backoff = .reconnect) {
        self.backoff = backoff
    }

    // MARK: - What the outside reads

    /// New work is taken (it waits for the start when idle).
    public var acceptsWork: Bool {
        switch state {
        case .idle, .running: true
        case .draining, .stopped: false
        }
    }

    public var isConnected: Bool {
        switch state {
        case .running(.connected), .draining(.connected, _): true
        default: false
        }
    }

    /// A stop was asked (or it is done).
    public var isStopping: Bool {
        switch state {
        case .draining, .stopped: true
        case .idle, .running: false
        }
    }

    // MARK: - Events

    /// Asked to start: true when the thread is to be started now (the first start of an idle one).
    public mutating func start() -> Bool {
        guard state == .idle else { return false }
        state = .running(.disconnected(failures: 0))
        return true
    }

    public enum StopAction {
        /// Nothing runs (never started, or done already): answer these now.
        case resume([Waiter])
        /// The thread is to drain: wake it. The waiter (if any) is answered when it is done.
        case wakeToDrain
        /// Draining already; the waiter (if any) joins the others.
        case wait
    }

    /// Asked to stop, by `waiter` (nil: without waiting). The drain ends by `now + drainTimeout` (nil: once
    /// the held work is done, however long).
    public mutating func stop(waiter: Waiter?, now: ContinuousClock.Instant, drainTimeout: Duration?) -> StopAction {
        switch state {
        case .idle:
            state = .stopped
            return .resume(waiter.map { [$0] } ?? [])
        case .stopped:
            return .resume(waiter.map { [$0] } ?? [])
        case .running(let link):
            state = .draining(link, deadline: drainTimeout.map { now + $0 })
            if let waiter { waiters.append(waiter) }
            return .wakeToDrain
        case .draining:
            if let waiter { waiters.append(waiter) }
            return .wait
        }
    }

    public enum Next: Equatable, Sendable {
        /// Open a connection (then report `connected` or `connectFailed`).
        case connect
        /// Do a turn of work on the connection.
        case work
        /// Do a turn of draining: finish what is held, take nothing new, wait at most until the deadline.
        case drain(deadline: ContinuousClock.Instant?)
        /// Close the connection, fail what is left, and report `finished`.
        case finish
    }

    /// What the thread does next. `holdsWork`: it still holds work a drain should finish (unconfirmed
    /// messages, a batch not yet settled); read only while draining.
    public func next(now: ContinuousClock.Instant, holdsWork: Bool) -> Next {
        switch state {
        case .idle, .stopped:
            return .finish
        case .running(.disconnected):
            return .connect
        case .running(.connected):
            return .work
        case .draining(let link, let deadline):
            if !holdsWork { return .finish }
            if let deadline, now >= deadline { return .finish }
            return link == .connected ? .drain(deadline: deadline) : .connect
        }
    }

    /// A connection is open. True when it is a reconnect (not the first).
    @discardableResult
    public mutating func connected() -> Bool {
        switch state {
        case .running(.disconnected): state = .running(.connected)
        case .draining(.disconnected, let deadline): state = .draining(.connected, deadline: deadline)
        case .idle, .stopped, .running(.connected), .draining(.connected, _): return false  // not the thread's turn to connect
        }
        connections += 1
        return connections > 1
    }

    /// Opening a connection failed: how long to wait before the next attempt.
    public mutating func connectFailed() -> Duration {
        let failures: Int
        switch state {
        case .running(.disconnected(let count)):
            failures = count
            state = .running(.disconnected(failures: count + 1))
        case .draining(.disconnected(let count), let deadline):
            failures = count
            state = .draining(.disconnected(failures: count + 1), deadline: deadline)
        case .idle, .stopped, .running(.connected), .draining(.connected, _):
            return .zero
        }
        return backoff.delay(after: failures)
    }

    /// The connection was lost (or closed by the broker over something sent).
    public mutating func lost() {
        switch state {
        case .running(.connected): state = .running(.disconnected(failures: 0))
        case .draining(.connected, let deadline): state = .draining(.disconnected(failures: 0), deadline: deadline)
        case .idle, .stopped, .running(.disconnected), .draining(.disconnected, _): break
        }
    }

    /// The thread is done: the waiters of every stop, to be answered now.
    public mutating func finished() -> [Waiter] {
        state = .stopped
        defer { waiters.removeAll() }
        return waiters
    }
}
extension ConnectionLifecycle: Sendable where Waiter: Sendable {}
