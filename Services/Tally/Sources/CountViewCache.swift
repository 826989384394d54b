import Foundation
import Models
import Postgres
import ServiceSupport
import Store
import Synchronization

/// The count API's views, kept for a quarter of a second: thousands of screens (or a flood of requests)
/// polling `/count` cost one query per petition per 250 ms, and a `304` is answered without touching the
/// database. Names that cannot be a slug are refused before any lookup; unknown ones are remembered for a
/// second, in a map that cannot push the known petitions out.
///
/// When the database cannot answer, a petition's last good view is answered instead (stale-if-error, for
/// up to `staleLimit`), saying how old it is (`stale_seconds`): the screens keep their count through a
/// database restart rather than showing an error.
final class CountViewCache: Sendable {
    private let pool: PostgresPool
    private let ttl: Duration
    private let staleLimit: Duration
    /// Each petition's last view, until when it is fresh, and when it was read.
    private let views = Mutex<[String: (view: CountView, expires: ContinuousClock.Instant, read: ContinuousClock.Instant)]>([:])
    private let unknown = Mutex<[String: ContinuousClock.Instant]>([:])
    static let maximumEntries = 10_000

    init(pool: PostgresPool, ttl: Duration = .milliseconds(250), staleLimit: Duration = .seconds(600)) {
        self.pool = pool
        self.ttl = ttl
        self.staleLimit = staleLimit
    }

    /// Whether there is a petition under `slug` (from the views and the unknown names kept, else one query).
    func exists(slug: String) async throws -> Bool {
        try await view(slug: slug) != nil
    }

    /// The petition's current counts, or nil when there is no such petition.
    func view(slug: String) async throws -> CountView? {
        guard (try? PetitionSlug.validate(slug)) != nil else { return nil }
        let now = ContinuousClock.now
        let last = views.withLock { $0[slug] }
        if let last, last.expires > now { return last.view }
        if let expires = unknown.withLock({ $0[slug] }), expires > now { return nil }
        let view: CountView?
        do {
            view = try await pool.withConnection { connection -> CountView? in
                // A rehearsal is shown through the petition it rehearses, never by its own name.
                guard let petition = try Petitions.find(slug: slug, on: connection), petition.rehearsalOf == nil else { return nil }
                return try CountView.load(petition, on: connection)
            }
        } catch {
            guard let last, ContinuousClock.now - last.read <= staleLimit else { throw error }
            var stale = last.view
            stale.staleSeconds = max(1, Int((ContinuousClock.now - last.read).inSeconds.rounded()))
            return stale
        }
        if let view {
            views.withLock { views in
                if views.count >= Self.maximumEntries { views.removeAll() }
                views[slug] = (view, now + ttl, now)
            }
        } else {
            unknown.withLock { unknown in
                if unknown.count >= Self.maximumEntries { unknown.removeAll() }
                unknown[slug] = now + .seconds(1)
            }
        }
        return view
    }
}

/// Answers kept for `ttl` (30 s) by key, at most `maximumEntries` (256; past it the cache starts again): the
/// history charts, asked the same question by many screens.
final class AnswerCache: Sendable {
    private let ttl: Duration
    private let answers = Mutex<[String: (answer: String, expires: ContinuousClock.Instant)]>([:])
    static let maximumEntries = 256

    init(ttl: Duration = .seconds(30)) {
        self.ttl = ttl
    }

    /// The answer kept under `key`, or a new one from `make` (kept unless it throws).
    func page(_ key: String, make: () async throws -> String) async throws -> String {
        let now = ContinuousClock.now
        if let kept = answers.withLock({ $0[key] }), kept.expires > now { return kept.answer }
        let answer = try await make()
        answers.withLock { answers in
            if answers.count >= Self.maximumEntries { answers.removeAll() }
            answers[key] = (answer, now + ttl)
        }
        return answer
    }
}
