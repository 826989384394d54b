import Foundation
import Models
import Postgres

/// Kiosks: devices a campaign sets up at a venue (`undersigned kiosk add NAME`). A kiosk's token is shown
/// once, on the link that sets the device up, and only its SHA-256 is kept (it has 256 bits: a slow hash
/// adds nothing). Intake knows every kiosk not revoked (read every few seconds, so a revoke reaches every
/// instance within seconds and a made-up token never costs a query).
public enum Kiosks {
    public struct Kiosk: Sendable, Equatable {
        public var name: String
        public var createdAt: Date
        public var revokedAt: Date?
        /// Signatures stored with its source (`kiosk:NAME`).
        public var signatures: Int64
    }

    /// `^[a-z0-9][a-z0-9-]{0,31}$`: the kiosk's name, in its signatures' source (`kiosk:NAME`).
    public static func validateName(_ name: String) throws(ValidationProblem) -> String {
        guard name.range(of: "^[a-z0-9][a-z0-9-]{0,31}$", options: .regularExpression) != nil else {
            throw ValidationProblem(field: "kiosk", reason: "must be 1 to 32 lower-case letters, digits or dashes, starting with a letter or digit")
        }
        return name
    }

    /// `ukk_` and 43 base64url characters.
    public static func newToken() -> String { "ukk_" + PartnerCredentials.randomToken() }

    public static func hash(token: String) -> [UInt8] { PartnerCredentials.hash(apiKey: token) }

    /// Registers a kiosk (or gives a revoked one a new token); returns its token, to be shown once.
    /// Throws when a kiosk of that name is in use.
    public static func add(name: String, on connection: PostgresConnection) throws -> String {
        let name = try validateName(name)
        let token = newToken()
        let changed = try connection.query("""
            INSERT INTO kiosks (name, token_hash) VALUES (\(name), \(ByteA(hash(token: token))))
            ON CONFLICT (name) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now(), revoked_at = NULL
            WHERE kiosks.revoked_at IS NOT NULL
            """).affectedRows
        guard changed == 1 else { throw ValidationProblem(field: "kiosk", reason: "a kiosk named \(name) is in use; revoke it first") }
        return token
    }

    /// Revokes a kiosk; false when there is no such kiosk in use.
    @discardableResult
    public static func revoke(name: String, on connection: PostgresConnection) throws -> Bool {
        try connection.query("UPDATE kiosks SET revoked_at = now() WHERE name = \(name) AND revoked_at IS NULL").affectedRows == 1
    }

    public static func list(on connection: PostgresConnection) throws -> [Kiosk] {
        try connection.query("""
            SELECT k.name, k.created_at, k.revoked_at, (SELECT count(*) FROM signatures s WHERE s.source = 'kiosk:' || k.name)::bigint
            FROM kiosks k ORDER BY k.name
            """).map {
            Kiosk(name: try $0.decode(String.self, 0), createdAt: try $0.decode(Date.self, 1), revokedAt: try $0.decodeIfPresent(Date.self, 2),
                  signatures: try $0.decode(Int64.self, 3))
        }
    }

    /// Kiosks in use, by the SHA-256 of their token.
    public static func active(on connection: PostgresConnection) throws -> [[UInt8]: String] {
        var kiosks: [[UInt8]: String] = [:]
        for row in try connection.query("SELECT token_hash, name FROM kiosks WHERE revoked_at IS NULL") {
            kiosks[try row.decode(ByteA.self, 0).bytes] = try row.decode(String.self, 1)
        }
        return kiosks
    }
}
