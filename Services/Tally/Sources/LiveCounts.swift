import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Store
import Synchronization

/// What a live subscriber receives.
enum LiveEvent: Sendable {
    case count(CountView)
    /// Nothing changed for a while: keep the connection (and any proxy on the way) alive.
    case heartbeat
}

/// Pushes counts to live subscribers (the SSE stream, the stage page). One poller reads each watched
/// petition's counters every `interval` (250 ms) and sends a new view only when it changed, so thousands
/// of screens cost one cheap query per petition per interval, and a surge produces at most four events a
/// second, never one per signature.
final class LiveCounts: Service, Sendable {
    private struct Watched {
        var petition: Petition
        var latest: CountView?
        var subscribers: [UUID: AsyncStream<LiveEvent>.Continuation] = [:]
    }

    private let pool: PostgresPool
    private let interval: Duration
    private let heartbeat: Duration
    private let logger: Logger
    private let watched = Mutex<[Int64: Watched]>([:])

    init(pool: PostgresPool, interval: Duration = .milliseconds(250), heartbeat: Duration = .seconds(15), logger: Logger) {
        self.pool = pool
        self.interval = interval
        self.heartbeat = heartbeat
        self.logger = logger
    }

    /// Events for `petition`, starting with the latest view when one is known. Newest-wins buffering: a
    /// slow subscriber skips views rather than queueing them.
    func subscribe(_ petition: Petition) -> AsyncStream<LiveEvent> {
        let id = UUID()
        let (stream, continuation) = AsyncStream.makeStream(of: LiveEvent.self, bufferingPolicy: .bufferingNewest(1))
        let latest = watched.withLock { watched in
            watched[petition.id, default: Watched(petition: petition)].subscribers[id] = continuation
            return watched[petition.id]?.latest
        }
        if let latest { continuation.yield(.count(latest)) }
        continuation.onTermination = { [weak self] _ in
            self?.watched.withLock { watched in
                watched[petition.id]?.subscribers[id] = nil
                if watched[petition.id]?.subscribers.isEmpty == true { watched[petition.id] = nil }
            }
        }
        return stream
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var lastHeartbeat = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: self.interval)
                await self.poll()
                if ContinuousClock.now - lastHeartbeat >= self.heartbeat {
                    lastHeartbeat = .now
                    self.broadcastHeartbeat()
                }
            }
        }
        // Shutting down: end every stream so that open SSE responses finish.
        let continuations = watched.withLock { watched in
            defer { watched.removeAll() }
            return watched.values.flatMap { $0.subscribers.values }
        }
        for continuation in continuations { continuation.finish() }
    }

    private func poll() async {
        let petitions = watched.withLock { $0.values.map(\.petition) }
        guard !petitions.isEmpty else { return }
        let views: [CountView]
        do {
            // The petition read afresh too (a subscriber's copy is as old as its stream): a pause, a closing or an
            // opening reaches the screens with the next poll.
            views = try await pool.withConnection { connection in
                try petitions.map { try CountView.load(Petitions.find(slug: $0.slug, on: connection) ?? $0, on: connection) }
            }
        } catch {
            logger.warning("live counts could not be read", metadata: ["error": "\(error)"])
            return
        }
        var deliveries: [(AsyncStream<LiveEvent>.Continuation, CountView)] = []
        watched.withLock { watched in
            for (petition, view) in zip(petitions, views) where watched[petition.id]?.latest != view {
                watched[petition.id]?.latest = view
                deliveries += (watched[petition.id]?.subscribers.values).map { $0.map { ($0, view) } } ?? []
            }
        }
        for (continuation, view) in deliveries { continuation.yield(.count(view)) }
    }

    private func broadcastHeartbeat() {
        let continuations = watched.withLock { $0.values.flatMap { $0.subscribers.values } }
        for continuation in continuations { continuation.yield(.heartbeat) }
    }
}
