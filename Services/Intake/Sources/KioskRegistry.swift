import Foundation
import HTTPTypes
import Logging
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store
import Synchronization

/// The kiosks in use, by their token's SHA-256, read every `interval` (5 s): a new kiosk works and a
/// revoked one is refused within seconds on every instance, and a made-up token never costs a query.
/// While the database cannot be read, the last list read stays.
final class KioskRegistry: Service, Sendable {
    private let pool: PostgresPool
    private let interval: Duration
    private let logger: Logger
    /// Nil until first read: a kiosk is told to try again shortly rather than that it is unknown.
    private let kiosks = Mutex<[[UInt8]: String]?>(nil)

    init(pool: PostgresPool, interval: Duration = .seconds(5), logger: Logger) {
        self.pool = pool
        self.interval = interval
        self.logger = logger
    }

    /// The kiosk a request comes from: nil when it names none (`Authorization: Kiosk TOKEN` absent), the
    /// kiosk's name when its token is one in use; 401 when it names a token not in use (unknown or revoked).
    func kiosk(of request: HTTPFields) throws -> String? {
        guard let authorization = request[.authorization], authorization.lowercased().hasPrefix("kiosk ") else { return nil }
        let token = authorization.dropFirst("kiosk ".count).trimmingCharacters(in: .whitespaces)
        guard let known = kiosks.withLock({ $0 }) else {
            throw Problem(.serviceUnavailable, title: "Try again shortly", detail: "kiosks cannot be checked yet", retryAfter: 2)
        }
        // A token is 47 characters; anything far longer is not hashed.
        guard token.utf8.count <= 128, let name = known[Kiosks.hash(token: token)] else {
            throw Problem(.unauthorized, title: "Kiosk not recognised", detail: "this kiosk's token is unknown or revoked", field: "authorization")
        }
        return name
    }

    func refresh() async throws {
        let active = try await pool.withConnection { connection in try Kiosks.active(on: connection) }
        kiosks.withLock { $0 = active }
    }

    func run() async throws {
        try await everyUntilGracefulShutdown(interval, logger: logger, failure: "cannot read the kiosks; keeping the last ones") {
            try await self.refresh()
        }
    }
}

/// Intake's refusals per petition and reason (`invalid:email`, `rate_limited`, `paused`, ...), added to
/// the call's history (`refusal_minutes`) every `interval` (5 s). At most 1,000 petitions are held between
/// writes (made-up slugs cannot grow it; unknown ones are dropped when written).
final class RefusalTally: Service, Sendable {
    private let pool: PostgresPool
    private let interval: Duration
    private let logger: Logger
    private let pending = Mutex<[String: [String: Int64]]>([:])

    init(pool: PostgresPool, interval: Duration = .seconds(5), logger: Logger) {
        self.pool = pool
        self.interval = interval
        self.logger = logger
    }

    func record(petition: String, _ problem: Problem) {
        let reason = Self.reason(problem)
        pending.withLock { pending in
            guard pending[petition] != nil || pending.count < 1_000 else { return }
            pending[petition, default: [:]][reason, default: 0] += 1
        }
    }

    /// A refusal's reason as the report shows it.
    static func reason(_ problem: Problem) -> String {
        switch problem.statusCode {
        case 422: "invalid:" + (problem.field ?? "body")
        case 429: "rate_limited"
        case 410: "closed"
        case 403 where problem.field == "slug": "not_open"
        case 503 where problem.title == "Signing paused": "paused"
        case 503: "unavailable"
        case 401: "kiosk_refused"
        case 409: "rehearsal_mismatch"
        case 413: "too_large"
        default: "refused:\(problem.statusCode)"
        }
    }

    func flush() async throws {
        let batch = pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
        guard !batch.isEmpty else { return }
        try await pool.withConnection { connection in try CallHistory.addRefusals(batch, on: connection) }
    }

    func run() async throws {
        try await everyUntilGracefulShutdown(interval, logger: logger, failure: "cannot record refusals; they are dropped") {
            try await self.flush()
        }
        try? await flush()
    }
}
