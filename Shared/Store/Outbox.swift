import Models
import Postgres

/// What the webhook outbox (`webhook_deliveries`) and the package deliveries (`deliveries`) share: rows
/// worked through by any delivery instance with a lease (a claimed row's `next_attempt_at` moves past the
/// lease, so others skip it and a crashed instance's row comes round again), attempts with a recorded
/// status and error, and a give-up time after which a row is `failed` until an operator puts it back.
public struct Outbox: Sendable {
    let table: StaticString

    public static let webhooks = Outbox(table: "webhook_deliveries")
    public static let deliveries = Outbox(table: "deliveries")
    public static let verifications = Outbox(table: "verification_emails")

    /// The ids of up to `limit` due rows, leased for `lease`.
    public func claimDue(limit: Int, lease: Duration, on connection: PostgresConnection) throws -> [Int64] {
        try claimDue(limit: limit, lease: lease, returning: "id", on: connection).map { try $0.decode(Int64.self, 0) }
    }

    /// Up to `limit` due rows, leased for `lease`, as `columns` of them (one round trip).
    public func claimDue(limit: Int, lease: Duration, returning columns: StaticString, on connection: PostgresConnection) throws -> PostgresRows {
        try connection.query("""
            UPDATE \(sql: table) SET next_attempt_at = now() + make_interval(secs => \(lease.inSeconds))
            WHERE id IN (SELECT id FROM \(sql: table) WHERE state = 'pending' AND next_attempt_at <= now()
                         ORDER BY next_attempt_at, id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
            RETURNING \(sql: columns)
            """)
    }

    /// Rows waiting to be sent (pending), given up (failed), and how long the oldest waiting one has waited.
    public func backlog(on connection: PostgresConnection) throws -> (pending: Int, failed: Int, oldestPendingSeconds: Double) {
        let row = try connection.query("""
            SELECT count(*) FILTER (WHERE state = 'pending'), count(*) FILTER (WHERE state = 'failed'),
                   COALESCE(extract(epoch FROM now() - min(created_at) FILTER (WHERE state = 'pending')), 0)::float8
            FROM \(sql: table) WHERE state <> 'delivered'
            """)[0]
        return (try row.decode(Int.self, 0), try row.decode(Int.self, 1), try row.decode(Double.self, 2))
    }

    /// Extends the lease of a row still being worked on (a long package build or upload).
    public func extendLease(_ id: Int64, by lease: Duration, on connection: PostgresConnection) throws {
        try connection.query("""
            UPDATE \(sql: table) SET next_attempt_at = now() + make_interval(secs => \(lease.inSeconds)) WHERE id = \(id) AND state = 'pending'
            """)
    }

    public func delivered(_ id: Int64, status: Int?, on connection: PostgresConnection) throws {
        try connection.query("""
            UPDATE \(sql: table) SET state = 'delivered', attempts = attempts + 1, last_status = \(status), last_error = NULL,
                delivered_at = now() WHERE id = \(id)
            """)
    }

    /// A failed attempt: tried again after `delay`, or failed for good once past its give-up time (or when `final`).
    public func attemptFailed(_ id: Int64, status: Int?, error: String, retryAfter delay: Duration, final: Bool, on connection: PostgresConnection) throws {
        try connection.query("""
            UPDATE \(sql: table) SET attempts = attempts + 1, last_status = \(status), last_error = \(String(error.prefix(500))),
                state = CASE WHEN \(final) OR now() + make_interval(secs => \(delay.inSeconds)) > give_up_at THEN 'failed' ELSE 'pending' END,
                next_attempt_at = now() + make_interval(secs => \(delay.inSeconds))
            WHERE id = \(id)
            """)
    }

    /// Puts failed rows back (all of them, or the one with `id`) with a fresh give-up window. Returns how many.
    @discardableResult
    public func retry(id: Int64?, giveUpAfter: Duration, on connection: PostgresConnection) throws -> Int {
        try connection.query("""
            UPDATE \(sql: table) SET state = 'pending', next_attempt_at = now(),
                give_up_at = now() + make_interval(secs => \(giveUpAfter.inSeconds))
            WHERE state = 'failed' AND (\(id)::bigint IS NULL OR id = \(id))
            """).affectedRows
    }
}
