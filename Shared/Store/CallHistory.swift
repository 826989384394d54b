import Foundation
import Models
import Postgres

/// What a call did, minute by minute, for as long as the petition lives: signatures counted (tally's
/// 10-second buckets for the last hour, folded into `count_minutes` after it) and what was turned away
/// (`refusal_minutes`: dedup's duplicates and intake's refusals). The count API offers the counted series
/// for plotting; `undersigned report` reads it with the signatures themselves.
public enum CallHistory {
    /// Adds turned-away signatures (petition slug → reason → how many) to this minute's. Unknown slugs
    /// are dropped (nothing is kept for a petition that does not exist).
    public static func addRefusals(_ refusals: [String: [String: Int64]], on connection: PostgresConnection) throws {
        let rows = refusals.flatMap { slug, reasons in reasons.map { (slug, String($0.key.prefix(64)), $0.value) } }
        guard !rows.isEmpty else { return }
        try connection.query("""
            INSERT INTO refusal_minutes (petition_id, minute, reason, count)
            SELECT p.id, date_trunc('minute', now()), x.reason, sum(x.n)
            FROM unnest(\(rows.map(\.0))::text[], \(rows.map(\.1))::text[], \(rows.map(\.2))::bigint[]) AS x(slug, reason, n)
            JOIN petitions p ON p.slug = x.slug
            GROUP BY p.id, x.reason ORDER BY p.id, x.reason
            ON CONFLICT (petition_id, minute, reason) DO UPDATE SET count = refusal_minutes.count + EXCLUDED.count
            """)
    }

    /// Signatures counted per minute in [from, to), oldest first.
    public static func countedPerMinute(petitionID: Int64, from: Date, to: Date, on connection: PostgresConnection) throws -> [(minute: Date, count: Int64)] {
        try connection.query("""
            SELECT minute, sum(n)::bigint FROM (
                SELECT minute, count AS n FROM count_minutes WHERE petition_id = \(petitionID) AND minute >= \(from) AND minute < \(to)
                UNION ALL
                SELECT date_trunc('minute', bucket), count FROM count_buckets
                WHERE petition_id = \(petitionID) AND bucket >= date_trunc('minute', \(from)::timestamptz) AND bucket < \(to)
            ) AS m WHERE minute >= date_trunc('minute', \(from)::timestamptz)
            GROUP BY minute ORDER BY minute
            """).map { (try $0.decode(Date.self, 0), try $0.decode(Int64.self, 1)) }
    }

    /// The longest span the history API gives at once (a week of minutes).
    public static let maximumSpan: TimeInterval = 7 * 86_400
}

/// A call as `undersigned report` tells it: from the signatures, tally's record of what it counted, the
/// refusals and the milestones, between two times.
public struct CallReport: Sendable {
    public struct Slot: Sendable, Equatable {
        public var at: Date
        public var accepted: Int64
        public var counted: Int64

        public init(at: Date, accepted: Int64, counted: Int64) {
            self.at = at
            self.accepted = accepted
            self.counted = counted
        }
    }

    public struct Lag: Sendable, Equatable {
        public var at: Date
        /// Accept-to-count lag percentiles, in milliseconds.
        public var p50: Double
        public var p95: Double
        public var p99: Double
        public var count: Int64
    }

    public var petition: String
    public var title: String
    public var from: Date
    public var to: Date
    /// Seconds per slot: 1 for a call of up to two hours, else 60.
    public var resolution: Int
    public var slots: [Slot]
    /// Per minute.
    public var lag: [Lag]
    /// Signatures stored (accepted) between the times, and how many of them tally counted.
    public var accepted: Int64
    public var counted: Int64
    public var refusals: [String: Int64]
    public var byChannel: [String: Int64]
    public var bySource: [String: Int64]
    public var milestones: [(threshold: Int64, reachedAt: Date)]

    /// The report of `petition` (a rehearsal's when `rehearsal`) between `from` and `to` (nil: from its first
    /// signature, to now). Nil when there is no such petition.
    public static func load(
        slug: String, rehearsal: Bool = false, from: Date?, to: Date?, on connection: PostgresConnection
    ) throws -> CallReport? {
        guard var petition = try Petitions.find(slug: slug, on: connection) else { return nil }
        if rehearsal {
            guard let shadow = try Petitions.find(slug: Rehearsals.slug(for: petition.id), on: connection) else { return nil }
            petition = shadow
        }
        let id = petition.id
        let bounds = try connection.query("""
            SELECT COALESCE(\(from)::timestamptz, (SELECT min(accepted_at) FROM signatures WHERE petition_id = \(id)), \(petition.createdAt)::timestamptz),
                   COALESCE(\(to)::timestamptz, now())
            """)[0]
        let start = try bounds.decode(Date.self, 0), end = try max(bounds.decode(Date.self, 1), start.addingTimeInterval(1))
        let resolution = end.timeIntervalSince(start) <= 7_200 ? 1 : 60
        var slots: [Date: Slot] = [:]
        for row in try connection.query("""
            SELECT to_timestamp(floor(extract(epoch FROM s.accepted_at) / \(resolution)) * \(resolution)) AS slot, count(*)::bigint
            FROM signatures s WHERE s.petition_id = \(id) AND s.accepted_at >= \(start) AND s.accepted_at < \(end) GROUP BY 1
            """) {
            let at = try row.decode(Date.self, 0)
            slots[at, default: Slot(at: at, accepted: 0, counted: 0)].accepted = try row.decode(Int64.self, 1)
        }
        for row in try connection.query("""
            SELECT to_timestamp(floor(extract(epoch FROM t.counted_at) / \(resolution)) * \(resolution)) AS slot, count(*)::bigint
            FROM signatures s JOIN tally_counted t ON t.signature_id = s.id
            WHERE s.petition_id = \(id) AND s.accepted_at >= \(start) AND s.accepted_at < \(end) GROUP BY 1
            """) {
            let at = try row.decode(Date.self, 0)
            slots[at, default: Slot(at: at, accepted: 0, counted: 0)].counted = try row.decode(Int64.self, 1)
        }
        // Lag from the moment intake took it (a web or kiosk signature's signed_at is intake's clock) or, for a
        // partner's row, from when dedup stored it.
        let lag = try connection.query("""
            SELECT date_trunc('minute', t.counted_at) AS minute,
                   percentile_cont(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM t.counted_at - CASE
                       WHEN signature_channel(s.source) IN ('web', 'kiosk') THEN LEAST(s.signed_at, s.accepted_at) ELSE s.accepted_at END) * 1000),
                   count(*)::bigint
            FROM signatures s JOIN tally_counted t ON t.signature_id = s.id
            WHERE s.petition_id = \(id) AND s.accepted_at >= \(start) AND s.accepted_at < \(end)
            GROUP BY 1 ORDER BY 1
            """).map { row -> Lag in
            let values = try row.decode(String.self, 1).trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",").compactMap { Double($0) }
            return Lag(at: try row.decode(Date.self, 0), p50: values[safe: 0] ?? 0, p95: values[safe: 1] ?? 0, p99: values[safe: 2] ?? 0,
                       count: try row.decode(Int64.self, 2))
        }
        func grouped(_ query: PostgresQuery) throws -> [String: Int64] {
            var result: [String: Int64] = [:]
            for row in try connection.query(query) { result[try row.decode(String.self, 0)] = try row.decode(Int64.self, 1) }
            return result
        }
        let byChannel = try grouped("""
            SELECT signature_channel(source), count(*)::bigint FROM signatures
            WHERE petition_id = \(id) AND accepted_at >= \(start) AND accepted_at < \(end) GROUP BY 1
            """)
        let bySource = try grouped("""
            SELECT source, count(*)::bigint FROM signatures
            WHERE petition_id = \(id) AND accepted_at >= \(start) AND accepted_at < \(end) GROUP BY 1
            """)
        let refusals = try grouped("""
            SELECT reason, sum(count)::bigint FROM refusal_minutes
            WHERE petition_id = \(id) AND minute >= date_trunc('minute', \(start)::timestamptz) AND minute < \(end) GROUP BY 1
            """)
        let milestones = try connection.query("""
            SELECT threshold, reached_at FROM milestones WHERE petition_id = \(id) AND reached_at >= \(start) AND reached_at < \(end) ORDER BY threshold
            """).map { (threshold: try $0.decode(Int64.self, 0), reachedAt: try $0.decode(Date.self, 1)) }
        let ordered = slots.values.sorted { $0.at < $1.at }
        return CallReport(
            petition: petition.slug, title: petition.title, from: start, to: end, resolution: resolution, slots: ordered, lag: lag,
            accepted: ordered.reduce(0) { $0 + $1.accepted }, counted: ordered.reduce(0) { $0 + $1.counted },
            refusals: refusals, byChannel: byChannel, bySource: bySource, milestones: milestones)
    }

    /// The report as JSON (times in RFC 3339, lags in milliseconds).
    public var json: [String: Any] {
        [
            "petition": petition, "title": title, "from": Timestamp.format(from), "to": Timestamp.format(to),
            "resolution_seconds": resolution,
            "totals": ["accepted": accepted, "counted": counted, "duplicates": refusals["duplicate"] ?? 0,
                       "refused": refusals.values.reduce(0, +) - (refusals["duplicate"] ?? 0)],
            "refusals": refusals, "by_channel": byChannel, "by_source": bySource,
            "milestones": milestones.map { ["threshold": $0.threshold, "reached_at": Timestamp.format($0.reachedAt)] },
            "slots": slots.map { ["at": Timestamp.format($0.at), "accepted": $0.accepted, "counted": $0.counted] },
            "lag_ms": lag.map { ["at": Timestamp.format($0.at), "p50": $0.p50.rounded(), "p95": $0.p95.rounded(), "p99": $0.p99.rounded(), "count": $0.count] },
        ]
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
