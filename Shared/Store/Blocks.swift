import Foundation
import Models
import Postgres

/// What intake refuses: client networks and e-mail domains.
public struct Block: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case network, domain }

    public var kind: Kind
    /// A CIDR network (`203.0.113.0/24`) or a lower-case domain (`spam.example`).
    public var value: String
    public var reason: String
    public var createdAt: Date
    public var expiresAt: Date?
}

/// Queries on `blocks`.
public enum Blocks {
    /// Adds or replaces a block; the value is normalised (network bits masked, domain lower-cased).
    @discardableResult
    public static func add(_ kind: Block.Kind, _ value: String, reason: String, expiresAt: Date?, on connection: PostgresConnection) throws(ValidationProblem) -> String {
        let normalised = try normalise(kind, value)
        do {
            try connection.query("""
                INSERT INTO blocks (kind, value, reason, expires_at) VALUES (\(kind.rawValue), \(normalised), \(reason), \(expiresAt))
                ON CONFLICT (kind, value) DO UPDATE SET reason = EXCLUDED.reason, expires_at = EXCLUDED.expires_at, created_at = now()
                """)
        } catch {
            throw ValidationProblem(field: "database", reason: "\(error)")
        }
        return normalised
    }

    /// Removes a block; false when there was none.
    public static func remove(_ kind: Block.Kind, _ value: String, on connection: PostgresConnection) throws -> Bool {
        try connection.query("DELETE FROM blocks WHERE kind = \(kind.rawValue) AND value = \(try normalise(kind, value))").affectedRows == 1
    }

    /// The blocks in force now.
    public static func active(on connection: PostgresConnection) throws -> [Block] {
        try connection.query("""
            SELECT kind, value, reason, created_at, expires_at FROM blocks WHERE expires_at IS NULL OR expires_at > now() ORDER BY kind, value
            """).map { row in
            Block(
                kind: Block.Kind(rawValue: try row.decode(String.self, 0)) ?? .network, value: try row.decode(String.self, 1),
                reason: try row.decode(String.self, 2), createdAt: try row.decode(Date.self, 3), expiresAt: try row.decodeIfPresent(Date.self, 4))
        }
    }

    static func normalise(_ kind: Block.Kind, _ value: String) throws(ValidationProblem) -> String {
        switch kind {
        case .network:
            guard let network = IPNetwork(value) else {
                throw ValidationProblem(field: "network", reason: "\(value) is not an address or a CIDR network")
            }
            return network.description
        case .domain:
            let domain = value.trimmingWhitespace().lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "@."))
            guard domain.contains("."), !domain.contains("@"), !domain.contains(where: \.isWhitespace) else {
                throw ValidationProblem(field: "domain", reason: "\(value) is not a domain such as spam.example")
            }
            return domain
        }
    }
}
