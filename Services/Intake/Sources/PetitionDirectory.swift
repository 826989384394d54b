import Foundation
import Models
import Postgres
import ServiceSupport
import Store
import Synchronization

/// A petition with every version of its texts: what intake needs to render its page and check a signature.
public struct PetitionEntry: Sendable {
    public var petition: Petition
    public var texts: PetitionTextSet

    /// The text a reader of `language` is shown: theirs if the petition has one, else the petition's own
    /// language, else its first.
    public func text(for language: String) -> PetitionText? {
        texts.current(language) ?? texts.current(petition.language) ?? texts.versions.first
    }
}

/// Petitions by slug and by short code, cached for a few seconds so that a surge of signatures or page
/// views does not become a surge of petition lookups: a view or a signature queries the database at most
/// once per petition per `ttl`. Names that cannot be a slug or a code are refused before any lookup;
/// unknown names are remembered for a second in a cache of their own, so a flood of random names can
/// neither reach the database more than once a second each nor push the real petitions out.
public final class PetitionDirectory: Sendable {
    private let pool: PostgresPool
    private let ttl: Duration
    private let cache = Mutex<[String: (PetitionEntry, ContinuousClock.Instant)]>([:])
    private let unknown = Mutex<[String: ContinuousClock.Instant]>([:])
    /// Entries kept at most; past it the cache starts again (random names cannot grow it without bound).
    static let maximumEntries = 10_000

    public init(pool: PostgresPool, ttl: Duration = .seconds(5)) {
        self.pool = pool
        self.ttl = ttl
    }

    public func petition(slug: String) async throws -> Petition? {
        try await entry(slug: slug)?.petition
    }

    public func entry(slug: String) async throws -> PetitionEntry? {
        guard (try? PetitionSlug.validate(slug)) != nil else { return nil }
        return try await lookup("s:" + slug) { connection in try Petitions.find(slug: slug, on: connection) }
    }

    /// The petition under `slug` as last read, fresh or not, without asking the database: nil for a name
    /// never found (what a flood of made-up names gets).
    public func cached(slug: String) -> Petition? {
        cache.withLock { $0["s:" + slug]?.0.petition }
    }

    public func entry(code: String) async throws -> PetitionEntry? {
        guard (try? PetitionCode.validate(code)) != nil else { return nil }
        return try await lookup("c:" + code) { connection in try Petitions.find(code: code, on: connection) }
    }

    private func lookup(_ key: String, find: @escaping @Sendable (PostgresConnection) throws -> Petition?) async throws -> PetitionEntry? {
        let now = ContinuousClock.now
        if let (entry, expires) = cache.withLock({ $0[key] }), expires > now {
            return entry
        }
        if let expires = unknown.withLock({ $0[key] }), expires > now { return nil }
        let entry: PetitionEntry?
        do {
            entry = try await pool.withConnection { connection in
                // A rehearsal petition is signed through the petition it rehearses, never by its own name.
                guard let petition = try find(connection), petition.rehearsalOf == nil else { return nil }
                return PetitionEntry(petition: petition, texts: try PetitionTexts.all(petitionID: petition.id, on: connection))
            }
        } catch {
            // The database is away: an expired entry is better than refusing signatures the broker can take.
            if let (stale, _) = cache.withLock({ $0[key] }) { return stale }
            throw Problem(.serviceUnavailable, title: "Try again shortly", detail: "petitions cannot be looked up right now", retryAfter: 2)
        }
        if entry == nil {
            unknown.withLock { unknown in
                if unknown.count >= Self.maximumEntries { unknown.removeAll() }
                unknown[key] = now + .seconds(1)
            }
        } else if let entry {
            cache.withLock { cache in
                if cache.count >= Self.maximumEntries { cache.removeAll() }
                cache[key] = (entry, now + ttl)
            }
        }
        return entry
    }
}
