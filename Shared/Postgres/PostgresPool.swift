import Dispatch
import Foundation
import IOCore
import Logging
import ServiceLifecycle
import Synchronization

/// A fixed set of worker threads, each owning one `PostgresConnection`. Async callers hand a closure to
/// the next free worker; the blocking libpq calls run on that worker's thread, never on Swift's
/// cooperative pool or a NIO event loop.
///
/// A broken connection is dropped and replaced when the worker takes its next job. The pool does not
/// retry work by itself: callers decide (see `PostgresError.isRetryable`).
///
/// Its life is a `ConnectionLifecycle` (each worker's link is its own): as a `Service` it starts its
/// workers (and migrates, when configured to), and when its group stops it finishes the queued jobs and
/// closes its connections. Work handed over before the start waits for it.
public final class PostgresPool: ConnectionOwner {
    public struct Configuration: Sendable {
        /// `postgresql://user:password@host:port/database`
        public var url: String
        /// Worker threads, hence connections. Default 4.
        public var size: Int
        /// Shown in `pg_stat_activity`.
        public var applicationName: String
        /// Callers that may wait for a free connection; one more is refused at once (`.busy`), so a slow
        /// database cannot make a service hold an unbounded number of waiting requests. Default 1,000.
        public var maximumWaiting: Int
        /// Longest a caller waits for a connection; work still queued after that is not run (`.timedOut`):
        /// its caller has given up or should be told to. Default 10 s.
        public var queueTimeout: Duration
        /// Applied by `run()` once the workers started, before it serves on; nil, none.
        public var migrateAtStart: Migrator?

        public init(
            url: String, size: Int = 4, applicationName: String = "undersigned", maximumWaiting: Int = 1_000,
            queueTimeout: Duration = .seconds(10), migrateAtStart: Migrator? = nil
        ) {
            self.url = url
            self.size = size
            self.applicationName = applicationName
            self.maximumWaiting = maximumWaiting
            self.queueTimeout = queueTimeout
            self.migrateAtStart = migrateAtStart
        }
    }

    fileprivate typealias Job = @Sendable (Worker) -> Void

    private let configuration: Configuration
    // Taken jobs are cleared at once: a job's closure holds its whole batch (thousands of signatures),
    // and keeping up to a thousand done jobs until the next compaction kept hundreds of MB alive.
    private let jobs = Mutex(Jobs())
    private let available = DispatchSemaphore(value: 0)
    private let logger: Logger
    private var size: Int { max(1, configuration.size) }

    private struct Jobs {
        var queue: [Job?] = []
        var head = 0
        var lifecycle = ConnectionLifecycle<CheckedContinuation<Void, Never>>()
        /// Worker threads not yet done.
        var workers = 0
    }

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts the worker threads. Idempotent.
    public func start() {
        let first = jobs.withLock { state in
            guard state.lifecycle.start() else { return false }
            state.workers = size
            return true
        }
        guard first else { return }
        for index in 0..<size {
            let worker = Worker(pool: self, index: index)
            let thread = Thread { worker.run() }
            thread.name = "postgres-\(index)"
            thread.start()
        }
    }

    /// Starts, migrates when configured to, serves until graceful shutdown, then stops.
    public func run() async throws {
        start()
        if let migrator = configuration.migrateAtStart {
            do {
                _ = try await withConnection { [logger] connection in try migrator.migrate(on: connection, logger: logger) }
            } catch {
                await stop()
                throw error
            }
        }
        try? await gracefulShutdown()
        await stop()
    }

    /// Takes no more work; returns once the jobs already queued ran and every connection is closed.
    public func stop() async {
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            act(on: jobs.withLock { $0.lifecycle.stop(waiter: waiter, now: .now, drainTimeout: nil) })
        }
    }

    /// `stop()` without waiting for it; later calls fail with `.closed`.
    public func requestStop() {
        act(on: jobs.withLock { $0.lifecycle.stop(waiter: nil, now: .now, drainTimeout: nil) })
    }

    private func act(on stop: ConnectionLifecycle<CheckedContinuation<Void, Never>>.StopAction) {
        switch stop {
        case .resume(let waiters): for waiter in waiters { waiter.resume() }
        case .wakeToDrain: for _ in 0..<size { available.signal() }  // each worker finds the queue closed once it is empty
        case .wait: break
        }
    }

    /// Runs `body` on a worker thread with its connection (connecting first if needed).
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        let deadline = ContinuousClock.now + configuration.queueTimeout
        let queueTimeout = configuration.queueTimeout
        let claim = JobClaim()
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let outcome = enqueue { worker in
                // Answered already when the deadline passed while every worker was busy: not run at all.
                guard claim.take() else { return }
                guard ContinuousClock.now <= deadline else {
                    continuation.resume(throwing: Self.timedOut(after: queueTimeout))
                    return
                }
                do {
                    let connection = try worker.connection()
                    do {
                        continuation.resume(returning: try body(connection))
                    } catch {
                        if !connection.isUsable { worker.drop() }
                        continuation.resume(throwing: error)
                    }
                } catch {
                    continuation.resume(throwing: error)
                }
            }
            switch outcome {
            case .accepted:
                // The deadline holds while the caller waits, not only when a worker comes to the job.
                claim.arm(Task {
                    try? await Task.sleep(until: deadline)
                    if claim.abandon() { continuation.resume(throwing: Self.timedOut(after: queueTimeout)) }
                })
            case .closed: continuation.resume(throwing: PostgresError(code: .closed, message: "the connection pool is closed"))
            case .full:
                continuation.resume(throwing: PostgresError(
                    code: .busy, message: "\(configuration.maximumWaiting) callers wait for a database connection already"))
            }
        }
    }

    /// Runs `body` in one transaction on one connection.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await withConnection { connection in try connection.transaction(body) }
    }

    /// Runs one statement.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { connection in try connection.query(query) }
    }

    /// True when a connection can run `SELECT 1` now.
    public func isReachable() async -> Bool {
        (try? await query("SELECT 1")) != nil
    }

    private static func timedOut(after queueTimeout: Duration) -> PostgresError {
        PostgresError(code: .timedOut, message: "waited more than \(queueTimeout) for a database connection")
    }

    private enum Enqueued { case accepted, closed, full }

    private func enqueue(_ job: @escaping Job) -> Enqueued {
        let outcome = jobs.withLock { state -> Enqueued in
            guard state.lifecycle.acceptsWork else { return .closed }
            guard state.queue.count - state.head < configuration.maximumWaiting else { return .full }
            state.queue.append(job)
            return .accepted
        }
        if outcome == .accepted { available.signal() }
        return outcome
    }

    /// Callers waiting for a connection now.
    public var waiting: Int {
        jobs.withLock { $0.queue.count - $0.head }
    }

    /// The next job, or nil when the pool is stopping and its queue is empty.
    fileprivate func next() -> Job? {
        while true {
            available.wait()
            let (job, done): (Job?, Bool) = jobs.withLock { state in
                if state.head < state.queue.count {
                    let job = state.queue[state.head]
                    state.queue[state.head] = nil
                    state.head += 1
                    if state.head > 64 && state.head * 2 > state.queue.count {
                        state.queue.removeFirst(state.head)
                        state.head = 0
                    }
                    return (job, false)
                }
                return (nil, !state.lifecycle.acceptsWork)
            }
            if let job { return job }
            if done { return nil }
        }
    }

    /// The last worker done answers the stops.
    fileprivate func workerDone() {
        let waiters = jobs.withLock { state in
            state.workers -= 1
            return state.workers == 0 ? state.lifecycle.finished() : []
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Who answers a queued job's caller: the worker that takes it in time, or the timer at its deadline.
    private final class JobClaim: Sendable {
        private enum State { case waiting, running, abandoned }
        private let state = Mutex<(State, Task<Void, Never>?)>((.waiting, nil))

        /// Keeps the deadline's timer, to be cancelled once a worker takes the job (at once if one has).
        func arm(_ timer: Task<Void, Never>) {
            let late = state.withLock { state -> Bool in
                state.1 = timer
                return state.0 != .waiting
            }
            if late { timer.cancel() }
        }

        /// A worker takes the job: true unless the timer answered its caller already.
        func take() -> Bool {
            let (taken, timer) = state.withLock { state -> (Bool, Task<Void, Never>?) in
                guard state.0 == .waiting else { return (false, nil) }
                state.0 = .running
                return (true, state.1)
            }
            timer?.cancel()
            return taken
        }

        /// The deadline passed: true when no worker took the job (its caller is answered now).
        func abandon() -> Bool {
            state.withLock { state in
                guard state.0 == .waiting else { return false }
                state.0 = .abandoned
                return true
            }
        }
    }

    /// One thread's connection. Touched only by its own thread.
    fileprivate final class Worker: @unchecked Sendable {
        private let pool: PostgresPool  // the threads keep the pool alive until close()
        private let index: Int
        private var current: PostgresConnection?

        init(pool: PostgresPool, index: Int) {
            self.pool = pool
            self.index = index
        }

        func run() {
            while let job = pool.next() {
                job(self)
            }
            current?.close()
            current = nil
            pool.workerDone()
        }

        func connection() throws -> PostgresConnection {
            if let current, current.isUsable { return current }
            current = nil
            let connection = try PostgresConnection(
                url: pool.configuration.url, applicationName: pool.configuration.applicationName)
            current = connection
            return connection
        }

        func drop() {
            pool.logger.warning("dropping a broken PostgreSQL connection", metadata: ["worker": "\(index)"])
            current?.close()
            current = nil
        }
    }
}
