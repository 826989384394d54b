import Foundation
import Postgres
import ServiceSupport
import Store
import Synchronization

/// Petitions by slug, cached for a few seconds so that a surge of signatures does not become a surge of
/// petition lookups. Unknown slugs are cached briefly too, so random slugs cannot hammer the database.
public final class PetitionDirectory: Sendable {
    private let pool: PostgresPool
    private let ttl: Duration
    private let cache = Mutex<[String: (Petition?, ContinuousClock.Instant)]>([:])

    public init(pool: PostgresPool, ttl: Duration = .seconds(5)) {
        self.pool = pool
        self.ttl = ttl
    }

    public func petition(slug: String) async throws -> Petition? {
        let now = ContinuousClock.now
        if let (petition, expires) = cache.withLock({ $0[slug] }), expires > now {
            return petition
        }
        let petition: Petition?
        do {
            petition = try await pool.withConnection { connection in try Petitions.find(slug: slug, on: connection) }
        } catch {
            // The database is away: an expired entry is better than refusing signatures the broker can take.
            if let (stale, _) = cache.withLock({ $0[slug] }) { return stale }
            throw Problem(.serviceUnavailable, title: "Try again shortly", detail: "petitions cannot be looked up right now", retryAfter: 2)
        }
        cache.withLock { cache in
            if cache.count > 10_000 { cache.removeAll() }
            cache[slug] = (petition, now + (petition == nil ? .seconds(1) : ttl))
        }
        return petition
    }
}
