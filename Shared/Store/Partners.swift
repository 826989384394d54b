import Foundation
import Models
import Postgres

/// A partner organisation as stored (its secrets are not: only the API key's hash).
public struct Partner: Sendable, Equatable {
    public enum Status: String, Sendable { case active, disabled }

    public var name: String
    public var status: Status
    public var maxConnections: Int
    /// Envelopes waiting in the partner's queue before the broker nacks (`reject-publish`).
    public var maxBacklog: Int
    public var receiptURL: String?
    public var createdAt: Date
    public var rotatedAt: Date?
}

/// Queries on `partners` and their receipts.
public enum Partners {
    private static let columns: StaticString = "name, status, max_connections, receipt_url, created_at, rotated_at, max_backlog"

    public static func create(
        name: String, apiKey: String, maxConnections: Int, maxBacklog: Int, receiptURL: String?, webhookSecret: String? = nil,
        on connection: PostgresConnection
    ) throws {
        try connection.query("""
            INSERT INTO partners (name, api_key_hash, max_connections, max_backlog, receipt_url, webhook_secret)
            VALUES (\(name), \(ByteA(PartnerCredentials.hash(apiKey: apiKey))), \(maxConnections), \(maxBacklog), \(receiptURL),
                    \(webhookSecret))
            """)
    }

    /// Where a partner's receipts are POSTed and the key they are signed with, if it registered a URL.
    public static func webhook(partner: String, on connection: PostgresConnection) throws -> (url: String, secret: String)? {
        guard let row = try connection.query("""
            SELECT receipt_url, webhook_secret FROM partners
            WHERE name = \(partner) AND receipt_url IS NOT NULL AND webhook_secret IS NOT NULL
            """).first else { return nil }
        return (try row.decode(String.self, 0), try row.decode(String.self, 1))
    }

    public static func find(name: String, on connection: PostgresConnection) throws -> Partner? {
        try connection.query("SELECT \(sql: columns) FROM partners WHERE name = \(name)").first.map(partner)
    }

    /// The active partner whose API key this is.
    public static func find(apiKey: String, on connection: PostgresConnection) throws -> Partner? {
        try connection.query("""
            SELECT \(sql: columns) FROM partners
            WHERE api_key_hash = \(ByteA(PartnerCredentials.hash(apiKey: apiKey))) AND status = 'active'
            """).first.map(partner)
    }

    /// Which of `names` are partners (active or not: what a disabled partner sent before is still taken).
    public static func existing(_ names: Set<String>, on connection: PostgresConnection) throws -> Set<String> {
        Set(try connection.query("SELECT name FROM partners WHERE name = ANY(\(Array(names))::text[])").map { try $0.decode(String.self, 0) })
    }

    public static func list(on connection: PostgresConnection) throws -> [Partner] {
        try connection.query("SELECT \(sql: columns) FROM partners ORDER BY name").map(partner)
    }

    public static func rotate(name: String, apiKey: String, webhookSecret: String, on connection: PostgresConnection) throws {
        try connection.query("""
            UPDATE partners SET api_key_hash = \(ByteA(PartnerCredentials.hash(apiKey: apiKey))), rotated_at = now(), status = 'active',
                webhook_secret = \(webhookSecret)
            WHERE name = \(name)
            """)
    }

    public static func setStatus(_ status: Partner.Status, name: String, on connection: PostgresConnection) throws {
        try connection.query("UPDATE partners SET status = \(status.rawValue) WHERE name = \(name)")
    }

    /// The receipt of a batch: every envelope of it with that batch id, rows merged; nil when none arrived yet.
    public static func receipt(partner: String, batchID: String, on connection: PostgresConnection) throws -> PartnerReceipt? {
        let envelopes = try connection.query("""
            SELECT envelope_id, first_row, accepted, duplicate FROM partner_receipts
            WHERE partner = \(partner) AND batch_id = \(batchID)
            """)
        guard !envelopes.isEmpty else { return nil }
        var rows: [PartnerReceipt.Row] = []
        var ids: [UUID] = []
        var firstRows: [UUID: Int] = [:]
        for envelope in envelopes {
            let id = try envelope.decode(UUID.self, 0)
            let first = try envelope.decode(Int.self, 1)
            ids.append(id)
            firstRows[id] = first
            rows += try intArray(envelope.decode(String.self, 2)).map { PartnerReceipt.Row(row: first + $0, status: .accepted) }
            rows += try intArray(envelope.decode(String.self, 3)).map { PartnerReceipt.Row(row: first + $0, status: .duplicate) }
        }
        for rejected in try connection.query("""
            SELECT envelope_id, position, field, reason FROM rejected_signatures
            WHERE coalesce(partner, '') = \(partner) AND envelope_id = ANY(\(ids)::uuid[])
            """) {
            let first = firstRows[try rejected.decode(UUID.self, 0)] ?? 0
            rows.append(PartnerReceipt.Row(
                row: first + (try rejected.decode(Int.self, 1)), status: .invalid,
                field: try rejected.decode(String.self, 2), reason: try rejected.decode(String.self, 3)))
        }
        return PartnerReceipt(partner: partner, batchID: batchID, rows: rows)
    }

    /// An HTTP batch intake took: its rows, envelopes and the rows it could not read. A batch sent again
    /// with the same id replaces the record (its envelopes and signatures are the same).
    public static func recordBatch(
        partner: String, batchID: String, rows: Int, envelopes: Int, malformed: [(row: Int, reason: String)], format: String,
        on connection: PostgresConnection
    ) throws {
        let json = String(decoding: try JSONSerialization.data(withJSONObject: malformed.map { ["row": $0.row, "reason": $0.reason] }), as: UTF8.self)
        try connection.query("""
            INSERT INTO partner_batches (partner, batch_id, rows, envelopes, malformed, format, malformed_rows)
            VALUES (\(partner), \(batchID), \(rows), \(envelopes), \(malformed.count), \(format), \(json)::jsonb)
            ON CONFLICT (partner, batch_id) DO UPDATE SET rows = EXCLUDED.rows, envelopes = EXCLUDED.envelopes,
                malformed = EXCLUDED.malformed, format = EXCLUDED.format, malformed_rows = EXCLUDED.malformed_rows
            """)
    }

    /// An HTTP batch's rows and unreadable rows, if intake took it.
    public static func batch(partner: String, batchID: String, on connection: PostgresConnection) throws -> (rows: Int, malformed: [PartnerReceipt.Row])? {
        guard let row = try connection.query("""
            SELECT rows, malformed_rows::text FROM partner_batches WHERE partner = \(partner) AND batch_id = \(batchID)
            """).first else { return nil }
        let items = (try? JSONSerialization.jsonObject(with: Data(try row.decode(String.self, 1).utf8))) as? [[String: Any]] ?? []
        let malformed = items.compactMap { item -> PartnerReceipt.Row? in
            guard let at = item["row"] as? Int else { return nil }
            return PartnerReceipt.Row(row: at, status: .invalid, field: "row", reason: item["reason"] as? String)
        }
        return (try row.decode(Int.self, 0), malformed)
    }

    /// `{1,2,3}` as PostgreSQL prints an integer array.
    private static func intArray(_ text: String) -> [Int] {
        text.trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",").compactMap { Int($0) }
    }

    private static func partner(_ row: PostgresRow) throws -> Partner {
        Partner(
            name: try row.decode(String.self, 0), status: Partner.Status(rawValue: try row.decode(String.self, 1)) ?? .disabled,
            maxConnections: try row.decode(Int.self, 2), maxBacklog: try row.decode(Int.self, 6),
            receiptURL: try row.decodeIfPresent(String.self, 3), createdAt: try row.decode(Date.self, 4), rotatedAt: try row.decodeIfPresent(Date.self, 5))
    }
}
