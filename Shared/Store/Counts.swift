import Foundation
import Postgres

/// A petition's count as tally keeps it.
public struct PetitionCount: Sendable, Equatable, Codable {
    public var total: Int64
    public var byCountry: [String: Int64]
    public var updatedAt: Date?

    public init(total: Int64, byCountry: [String: Int64], updatedAt: Date?) {
        self.total = total
        self.byCountry = byCountry
        self.updatedAt = updatedAt
    }
}

/// Reads of `petition_counts`: a sum over at most (countries × shards) rows, never a scan of signatures.
public enum Counts {
    public static func read(petitionID: Int64, on connection: PostgresConnection) throws -> PetitionCount {
        let rows = try connection.query("""
            SELECT country, sum(count)::bigint, max(updated_at)
            FROM petition_counts WHERE petition_id = \(petitionID)
            GROUP BY country
            """)
        var byCountry: [String: Int64] = [:]
        var total: Int64 = 0
        var updatedAt: Date?
        for row in rows {
            let count = try row.decode(Int64.self, 1)
            guard count > 0 else { continue }
            byCountry[try row.decode(String.self, 0)] = count
            total += count
            let updated = try row.decode(Date.self, 2)
            updatedAt = max(updatedAt ?? updated, updated)
        }
        return PetitionCount(total: total, byCountry: byCountry, updatedAt: updatedAt)
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
