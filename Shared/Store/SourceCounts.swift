import Foundation
import Models
import Postgres

/// Where a petition's signatures came from (`source`: `web`, `screen:main`, `utm:newsletter`,
/// `partner:acme`, ...): so ops can tell which screen, stage or link worked.
public enum SourceCounts {
    /// Stored signatures per source, most first; nil when there is no such petition.
    public static func list(petition slug: String, on connection: PostgresConnection) throws -> [(source: String, count: Int64)]? {
        guard let petition = try Petitions.find(slug: slug, on: connection) else { return nil }
        return try connection.query("""
            SELECT source, count(*) FROM signatures WHERE petition_id = \(petition.id) GROUP BY source ORDER BY 2 DESC, 1
            """).map { (try $0.decode(String.self, 0), try $0.decode(Int64.self, 1)) }
    }

    /// Per channel (`web`, `kiosk`, `partner`, `paper`), as tally counts them (`signature_channel` in SQL).
    public static func channels(_ sources: [(source: String, count: Int64)]) -> [String: Int64] {
        var channels: [String: Int64] = [:]
        for row in sources { channels[channel(of: row.source), default: 0] += row.count }
        return channels
    }

    /// The channel of a source: the same rule as the database's `signature_channel`.
    public static func channel(of source: String) -> String {
        SignatureSource(stored: source).channel.rawValue
    }
}
