import Foundation
import Postgres

/// A petition's count as tally keeps it.
public struct PetitionCount: Sendable, Equatable, Codable {
    public var total: Int64
    public var byCountry: [String: Int64]
    /// By the channel signatures came in by: `web`, `kiosk`, `partner`, `paper` (those with any).
    public var byChannel: [String: Int64]
    public var updatedAt: Date?

    public init(total: Int64, byCountry: [String: Int64], byChannel: [String: Int64] = [:], updatedAt: Date?) {
        self.total = total
        self.byCountry = byCountry
        self.byChannel = byChannel
        self.updatedAt = updatedAt
    }

    /// The channels a count is told by, in the order they are shown.
    public static let channels = ["web", "kiosk", "partner", "paper"]
}

/// Reads of `petition_counts`: a sum over at most (countries × channels × shards) rows, never a scan of
/// signatures.
public enum Counts {
    public static func read(petitionID: Int64, on connection: PostgresConnection) throws -> PetitionCount {
        let rows = try connection.query("""
            SELECT country, channel, sum(count)::bigint, max(updated_at)
            FROM petition_counts WHERE petition_id = \(petitionID)
            GROUP BY country, channel
            """)
        var count = PetitionCount(total: 0, byCountry: [:], updatedAt: nil)
        for row in rows {
            let n = try row.decode(Int64.self, 2)
            guard n > 0 else { continue }
            count.byCountry[try row.decode(String.self, 0), default: 0] += n
            count.byChannel[try row.decode(String.self, 1), default: 0] += n
            count.total += n
            let updated = try row.decode(Date.self, 3)
            count.updatedAt = max(count.updatedAt ?? updated, updated)
        }
        return count
    }

    /// Totals of every petition, by id.
    public static func totals(on connection: PostgresConnection) throws -> [Int64: Int64] {
        var totals: [Int64: Int64] = [:]
        for row in try connection.query("SELECT petition_id, sum(count)::bigint FROM petition_counts GROUP BY petition_id") {
            totals[try row.decode(Int64.self, 0)] = try row.decode(Int64.self, 1)
        }
        return totals
    }
}
