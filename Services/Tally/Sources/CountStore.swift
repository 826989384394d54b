import Foundation
import Models
import Postgres

/// Exactly-once counting: the ids counted are recorded in `tally_counted` in the same transaction as
/// the increments, so a redelivered event changes nothing; an event whose signature is not stored (a
/// forged one, or one erased meanwhile) counts nothing.
enum CountStore {
    /// Counts the events not counted before; returns the ids of the petitions whose counts changed.
    static func count(_ events: [SignatureAccepted], shard: Int, on connection: PostgresConnection) throws -> [Int64] {
        // Once each; by the whole event, not the id alone, so that a forged event with a real id cannot
        // push the true one out of the batch (the check below drops the forged one).
        var seen = Set<String>()
        let unique = events.filter { seen.insert("\($0.signatureID)|\($0.petition)|\($0.country)").inserted }
        let rows = try connection.query("""
            WITH input AS (
                -- Only signatures that exist, of the petition and country the event names: an event is counted
                -- because dedup stored its signature, never because a message says so.
                -- (One primary-key probe per event, LATERAL so the planner cannot turn it into a scan of the
                -- whole table: a hash join did, and made counting seven times slower.)
                SELECT t.signature_id, t.petition, t.country, stored.channel
                FROM unnest(\(unique.map(\.signatureID))::bigint[], \(unique.map(\.petition))::text[],
                            \(unique.map(\.country))::text[]) AS t(signature_id, petition, country)
                JOIN petitions p ON p.slug = t.petition
                CROSS JOIN LATERAL (
                    SELECT signature_channel(s.source) AS channel FROM signatures s WHERE s.id = t.signature_id AND s.petition_id = p.id AND s.country = t.country LIMIT 1
                ) AS stored
            ),
            counted AS (
                INSERT INTO tally_counted (signature_id)
                SELECT signature_id FROM input ORDER BY signature_id
                ON CONFLICT DO NOTHING
                RETURNING signature_id
            ),
            delta AS (
                SELECT p.id AS petition_id, i.country, i.channel, count(*) AS n
                FROM counted c JOIN input i USING (signature_id) JOIN petitions p ON p.slug = i.petition
                GROUP BY p.id, i.country, i.channel
            ),
            bumped AS (
                INSERT INTO petition_counts (petition_id, country, channel, shard, count)
                SELECT petition_id, country, channel, \(shard), n FROM delta ORDER BY petition_id, country, channel
                ON CONFLICT (petition_id, country, channel, shard)
                DO UPDATE SET count = petition_counts.count + EXCLUDED.count, updated_at = now()
                RETURNING petition_id
            ),
            rate AS (
                INSERT INTO count_buckets (petition_id, bucket, shard, count)
                SELECT petition_id, to_timestamp(floor(extract(epoch FROM now()) / 10) * 10), \(shard), sum(n)
                FROM delta GROUP BY petition_id ORDER BY petition_id
                ON CONFLICT (petition_id, bucket, shard) DO UPDATE SET count = count_buckets.count + EXCLUDED.count
            )
            SELECT DISTINCT petition_id FROM bumped
            """)
        let touched = try rows.map { try $0.decode(Int64.self, 0) }.sorted()
        if !touched.isEmpty {
            // Buckets an hour old are folded into the per-minute history kept for the petition's life.
            try connection.query("""
                WITH old AS (
                    DELETE FROM count_buckets WHERE petition_id = ANY(\(touched)::bigint[]) AND bucket < now() - interval '1 hour'
                    RETURNING petition_id, bucket, count
                )
                INSERT INTO count_minutes (petition_id, minute, count)
                SELECT petition_id, date_trunc('minute', bucket), sum(count) FROM old GROUP BY 1, 2 ORDER BY 1, 2
                ON CONFLICT (petition_id, minute) DO UPDATE SET count = count_minutes.count + EXCLUDED.count
                """)
        }
        return touched
    }

    /// Records the thresholds these petitions crossed. A per-petition transaction lock makes the last
    /// committer see every shard's increments, so no crossing is missed when instances commit together.
    static func recordMilestones(petitionIDs: [Int64], on connection: PostgresConnection) throws {
        guard !petitionIDs.isEmpty else { return }
        try connection.query("SELECT pg_advisory_xact_lock(\(Int32(0x7461)), id::int) FROM unnest(\(petitionIDs)::bigint[]) AS id ORDER BY id")
        try connection.query("""
            WITH totals AS (
                SELECT petition_id, sum(count)::bigint AS total FROM petition_counts
                WHERE petition_id = ANY(\(petitionIDs)::bigint[]) GROUP BY petition_id
            )
            INSERT INTO milestones (petition_id, threshold, total)
            SELECT t.petition_id, m.threshold, t.total
            FROM totals t JOIN petitions p ON p.id = t.petition_id CROSS JOIN LATERAL unnest(p.milestones) AS m(threshold)
            WHERE t.total >= m.threshold
            ORDER BY 1, 2
            ON CONFLICT DO NOTHING
            """)
    }

    /// Milestones recorded but not yet published (the outbox).
    static func unpublishedMilestones(on connection: PostgresConnection) throws -> [MilestoneReached] {
        try connection.query("""
            SELECT p.slug, m.threshold, m.total, m.reached_at FROM milestones m JOIN petitions p ON p.id = m.petition_id
            WHERE m.published_at IS NULL ORDER BY m.reached_at LIMIT 100
            """).map {
            MilestoneReached(petition: try $0.decode(String.self, 0), threshold: try $0.decode(Int64.self, 1),
                             total: try $0.decode(Int64.self, 2), reachedAt: try $0.decode(Date.self, 3))
        }
    }

    static func markPublished(_ milestones: [MilestoneReached], on connection: PostgresConnection) throws {
        try connection.query("""
            UPDATE milestones m SET published_at = now() FROM petitions p,
                unnest(\(milestones.map(\.petition))::text[], \(milestones.map(\.threshold))::bigint[]) AS x(slug, threshold)
            WHERE p.slug = x.slug AND m.petition_id = p.id AND m.threshold = x.threshold
            """)
    }
}
