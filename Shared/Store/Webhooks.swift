import Foundation
import Models
import Postgres

/// A webhook call in the outbox.
public struct WebhookDelivery: Sendable, Equatable {
    public enum State: String, Sendable { case pending, delivered, failed }

    public var id: Int64
    public var idempotencyKey: String
    public var kind: String
    public var owner: String
    public var url: String
    public var body: [UInt8]
    public var state: State
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Date
    public var giveUpAt: Date
}

/// The webhook outbox (`webhook_deliveries`): calls are added once per idempotency key, claimed by one
/// delivery instance at a time (a lease), and end delivered or failed.
public enum Webhooks {
    /// Adds a call unless one with this key exists. Returns whether it was added.
    @discardableResult
    public static func enqueue(
        key: String, kind: String, owner: String, url: String, body: [UInt8], giveUpAfter: Duration, on connection: PostgresConnection
    ) throws -> Bool {
        try connection.query("""
            INSERT INTO webhook_deliveries (idempotency_key, kind, owner, url, body, give_up_at)
            VALUES (\(key), \(kind), \(owner), \(url), \(ByteA(body)), now() + make_interval(secs => \(giveUpAfter.inSeconds)))
            ON CONFLICT (idempotency_key) DO NOTHING
            """).affectedRows == 1
    }

    /// Up to `limit` due calls, leased for `lease` (another instance skips them meanwhile; a crashed
    /// instance's lease runs out and the call is made again, with the same idempotency key).
    public static func claimDue(limit: Int, lease: Duration, on connection: PostgresConnection) throws -> [WebhookDelivery] {
        try Outbox.webhooks.claimDue(limit: limit, lease: lease, returning: columns, on: connection).map(delivery)
    }

    public static func list(state: WebhookDelivery.State?, limit: Int = 100, on connection: PostgresConnection) throws -> [WebhookDelivery] {
        try connection.query("""
            SELECT \(sql: columns) FROM webhook_deliveries
            WHERE \(state?.rawValue)::text IS NULL OR state = \(state?.rawValue) ORDER BY id DESC LIMIT \(limit)
            """).map(delivery)
    }

    /// Puts failed calls back (all of them, or the one with `id`) with a fresh give-up window. Returns how many.
    @discardableResult
    public static func retry(id: Int64?, giveUpAfter: Duration, on connection: PostgresConnection) throws -> Int {
        try Outbox.webhooks.retry(id: id, giveUpAfter: giveUpAfter, on: connection)
    }

    private static let columns: StaticString = "id, idempotency_key, kind, owner, url, body, state, attempts, last_status, last_error, created_at, give_up_at"

    private static func delivery(_ row: PostgresRow) throws -> WebhookDelivery {
        WebhookDelivery(
            id: try row.decode(Int64.self, 0), idempotencyKey: try row.decode(String.self, 1), kind: try row.decode(String.self, 2),
            owner: try row.decode(String.self, 3), url: try row.decode(String.self, 4), body: try row.decode(ByteA.self, 5).bytes,
            state: WebhookDelivery.State(rawValue: try row.decode(String.self, 6)) ?? .failed, attempts: try row.decode(Int.self, 7),
            lastStatus: try row.decodeIfPresent(Int.self, 8), lastError: try row.decodeIfPresent(String.self, 9),
            createdAt: try row.decode(Date.self, 10), giveUpAt: try row.decode(Date.self, 11))
    }
}
