import Postgres

/// Recomputes counts from the signatures table and compares them with tally's counters.
///
/// The truth for a counter is the number of signatures tally recorded as counted (`tally_counted`);
/// signatures not counted yet are reported apart (their events may be in flight). At a quiet moment both
/// views agree and nothing is uncounted.
public enum Recount {
    public struct Difference: Sendable, Equatable {
        public var petition: String
        public var country: String
        /// `web`, `kiosk`, `partner` or `paper`.
        public var channel: String
        /// Signatures counted by tally, recomputed from the tables.
        public var expected: Int64
        /// What the counters say.
        public var actual: Int64
    }

    public struct Report: Sendable, Equatable {
        public var differences: [Difference]
        /// Signatures tally has not counted yet, per petition.
        public var uncounted: [String: Int64]
        /// Signatures per petition in the table.
        public var signatures: [String: Int64]

        public var isConsistent: Bool { differences.isEmpty && uncounted.isEmpty }
    }

    public static func check(on connection: PostgresConnection) throws -> Report {
        var expected: [Key: Int64] = [:]
        for row in try connection.query("""
            SELECT p.slug, s.country, signature_channel(s.source), count(*)::bigint FROM signatures s
            JOIN tally_counted t ON t.signature_id = s.id JOIN petitions p ON p.id = s.petition_id
            GROUP BY 1, 2, 3
            """) {
            expected[try Key(row)] = try row.decode(Int64.self, 3)
        }
        var actual: [Key: Int64] = [:]
        for row in try connection.query("""
            SELECT p.slug, c.country, c.channel, sum(c.count)::bigint FROM petition_counts c JOIN petitions p ON p.id = c.petition_id
            GROUP BY 1, 2, 3
            """) {
            actual[try Key(row)] = try row.decode(Int64.self, 3)
        }
        var differences: [Difference] = []
        for key in Set(expected.keys).union(actual.keys) where (expected[key] ?? 0) != (actual[key] ?? 0) {
            differences.append(Difference(
                petition: key.petition, country: key.country, channel: key.channel, expected: expected[key] ?? 0, actual: actual[key] ?? 0))
        }
        var uncounted: [String: Int64] = [:]
        for row in try connection.query("""
            SELECT p.slug, count(*)::bigint FROM signatures s JOIN petitions p ON p.id = s.petition_id
            WHERE NOT EXISTS (SELECT 1 FROM tally_counted t WHERE t.signature_id = s.id)
            GROUP BY p.slug
            """) {
            uncounted[try row.decode(String.self, 0)] = try row.decode(Int64.self, 1)
        }
        var signatures: [String: Int64] = [:]
        for row in try connection.query("SELECT p.slug, count(s.id)::bigint FROM petitions p LEFT JOIN signatures s ON s.petition_id = p.id GROUP BY p.slug") {
            signatures[try row.decode(String.self, 0)] = try row.decode(Int64.self, 1)
        }
        return Report(
            differences: differences.sorted { ($0.petition, $0.country, $0.channel) < ($1.petition, $1.country, $1.channel) },
            uncounted: uncounted, signatures: signatures)
    }

    /// Rewrites the counters that differ, while tally's writes wait on a table lock; returns what was fixed.
    @discardableResult
    public static func fix(on connection: PostgresConnection) throws -> [Difference] {
        try connection.transaction { connection in
            try connection.execute("LOCK TABLE tally_counted, petition_counts IN SHARE ROW EXCLUSIVE MODE")
            let differences = try check(on: connection).differences
            for difference in differences {
                try connection.query("""
                    DELETE FROM petition_counts c USING petitions p
                    WHERE p.id = c.petition_id AND p.slug = \(difference.petition) AND c.country = \(difference.country)
                        AND c.channel = \(difference.channel)
                    """)
                if difference.expected > 0 {
                    try connection.query("""
                        INSERT INTO petition_counts (petition_id, country, channel, shard, count)
                        SELECT id, \(difference.country), \(difference.channel), 0, \(difference.expected) FROM petitions WHERE slug = \(difference.petition)
                        """)
                }
            }
            return differences
        }
    }

    private struct Key: Hashable {
        var petition: String
        var country: String
        var channel: String

        init(_ row: PostgresRow) throws {
            petition = try row.decode(String.self, 0)
            country = try row.decode(String.self, 1)
            channel = try row.decode(String.self, 2)
        }
    }
}
