import Foundation
import Models
import Postgres

/// Removing a signer's data, and stripping closed petitions down to what history needs.
public enum Privacy {
    public struct Erased: Sendable, Equatable {
        /// Signature rows removed (one per petition the person signed).
        public var signatures: Int
        /// Of those, how many had been counted (and were taken off the counts).
        public var uncounted: Int
        public var petitions: [String]
    }

    /// Removes every signature of the signer with this key, in one transaction, and keeps the counts
    /// honest: a counted signature is taken off its petition's count; one not counted yet is marked as
    /// counted, so that the accepted event still on its way changes nothing.
    /// How long an erasure is remembered, so that a signature in flight at the erase is never stored.
    public static let erasureMemory = "30 days"

    /// Also remembers the erasure (`erasures`): dedup stores no signature of this signer signed before now,
    /// so one still in a queue or a partner's backlog cannot come back.
    public static func erase(signerKey: SignerKey, on connection: PostgresConnection) throws -> Erased {
        try connection.transaction { connection in
            // Waits for the inserts in flight (a dedup batch whose check of `erasures` ran before this erase
            // commits would otherwise store the signature after it) and holds new ones until the erasure is
            // committed, which their check then sees. Counting and reading go on (they do not conflict).
            try connection.execute("LOCK TABLE signatures IN SHARE ROW EXCLUSIVE MODE")
            try connection.query("DELETE FROM erasures WHERE erased_at < now() - \(erasureMemory)::interval")
            try connection.query("""
                INSERT INTO erasures (signer_key) VALUES (\(ByteA(signerKey.bytes)))
                ON CONFLICT (signer_key) DO UPDATE SET erased_at = now()
                """)
            let removed = try connection.query("""
                DELETE FROM signatures s USING petitions p WHERE s.signer_key = \(ByteA(signerKey.bytes)) AND p.id = s.petition_id
                RETURNING s.id, s.petition_id, s.country, p.slug, signature_channel(s.source)
                """)
            try connection.query("DELETE FROM partner_claims WHERE signer_key = \(ByteA(signerKey.bytes))")
            guard !removed.isEmpty else { return Erased(signatures: 0, uncounted: 0, petitions: []) }
            let ids = try removed.map { try $0.decode(Int64.self, 0) }
            let counted = Set(try connection.query("SELECT signature_id FROM tally_counted WHERE signature_id = ANY(\(ids)::bigint[])")
                .map { try $0.decode(Int64.self, 0) })
            try connection.query("INSERT INTO tally_counted (signature_id) SELECT unnest(\(ids)::bigint[]) ON CONFLICT DO NOTHING")
            for row in removed where counted.contains(try row.decode(Int64.self, 0)) {
                // Said on the screens: the one way a count goes down.
                try connection.query("UPDATE petitions SET erased = erased + 1 WHERE id = \(try row.decode(Int64.self, 1))")
                try connection.query("""
                    UPDATE petition_counts SET count = count - 1, updated_at = now()
                    WHERE (petition_id, country, channel, shard) = (
                        SELECT petition_id, country, channel, shard FROM petition_counts
                        WHERE petition_id = \(try row.decode(Int64.self, 1)) AND country = \(try row.decode(String.self, 2))
                            AND channel = \(try row.decode(String.self, 4)) AND count > 0
                        ORDER BY count DESC LIMIT 1)
                    """)
            }
            return Erased(signatures: ids.count, uncounted: counted.count, petitions: try removed.map { try $0.decode(String.self, 3) }.sorted())
        }
    }

    /// The consenting signers of a petition with their sealed addresses (for `undersigned contacts`).
    public static func contacts(petition slug: String, on connection: PostgresConnection) throws -> [(name: String, signerKey: SignerKey, sealed: [UInt8])] {
        try connection.query("""
            SELECT s.name, s.signer_key, s.contact_email FROM signatures s JOIN petitions p ON p.id = s.petition_id
            WHERE p.slug = \(slug) AND s.contact_email IS NOT NULL ORDER BY s.id
            """).map { (try $0.decode(String.self, 0), SignerKey(bytes: try $0.decode(ByteA.self, 1).bytes), try $0.decode(ByteA.self, 2).bytes) }
    }

    /// Strips names, postal codes, contact consent and signer keys (replaced by random ones) from the
    /// signatures of petitions closed before `date`; country, source and times stay, and so do the counts.
    /// Returns the petitions and the signatures changed.
    public static func anonymise(closedBefore date: Date, on connection: PostgresConnection) throws -> (petitions: [String], signatures: Int) {
        try connection.transaction { connection in
            try connection.query("DELETE FROM erasures WHERE erased_at < now() - \(erasureMemory)::interval")
            // A rehearsal's signatures (a crew's own addresses) go with the petition it rehearsed.
            let petitions = try connection.query("""
                SELECT id, slug FROM petitions p
                WHERE COALESCE(p.closed_at, CASE WHEN p.closes_at <= now() THEN p.closes_at END) < \(date)
                   OR EXISTS (SELECT 1 FROM petitions parent WHERE parent.id = p.rehearsal_of
                              AND COALESCE(parent.closed_at, CASE WHEN parent.closes_at <= now() THEN parent.closes_at END) < \(date))
                ORDER BY slug
                """)
            let ids = try petitions.map { try $0.decode(Int64.self, 0) }
            guard !ids.isEmpty else { return ([], 0) }
            try connection.query("DELETE FROM partner_claims WHERE petition_id = ANY(\(ids)::bigint[])")
            let changed = try connection.query("""
                UPDATE signatures SET name = '', postal_code = NULL, contact_opt_in = false, contact_email = NULL,
                    signer_key = sha256(gen_random_uuid()::text::bytea)
                WHERE petition_id = ANY(\(ids)::bigint[]) AND (name <> '' OR postal_code IS NOT NULL OR contact_opt_in OR contact_email IS NOT NULL)
                """).affectedRows
            return (try petitions.map { try $0.decode(String.self, 1) }, changed)
        }
    }
}
