import Foundation
import Models
import Postgres

/// Rehearsals (`undersigned petition rehearse SLUG on|off|reset`): ops send real traffic down the real path
/// before the show. While a rehearsal is on, intake gives a petition's signatures to its rehearsal petition
/// (`rehearsal-of-ID`, made the first time): dedup stores them there (its own signers: signing in rehearsal
/// does not stop anyone signing for real), tally counts them there, screens show that count marked
/// REHEARSAL. It has no delivery targets, no partner may send to it, and nothing of it is added to the real
/// count. Reset wipes what it holds.
public enum Rehearsals {
    /// The rehearsal petition's slug for the petition with id `id` (no slug a person makes starts so:
    /// `petition create` refuses it).
    public static func slug(for id: Int64) -> String { "\(prefix)\(id)" }
    public static let prefix = "rehearsal-of-"

    /// Turns the rehearsal on or off; returns the petition as it now is, or nil when there is no such slug.
    @discardableResult
    public static func set(_ on: Bool, slug: String, on connection: PostgresConnection) throws -> Petition? {
        try connection.transaction { connection in
            guard let petition = try Petitions.find(slug: slug, on: connection), petition.rehearsalOf == nil else { return nil }
            if on {
                // No milestones of its own to announce to the world, no verification mails: a rehearsal's
                // milestones still show on the screens (the stage page celebrates them) but tally records them
                // under the rehearsal petition, whose subscribers are nobody.
                try connection.query("""
                    INSERT INTO petitions (slug, title, body, milestones, language, code, rehearsal_of)
                    VALUES (\(Self.slug(for: petition.id)), \(petition.title), \(petition.body), \(petition.milestones)::bigint[],
                            \(petition.language), \(PetitionCode.random()), \(petition.id))
                    ON CONFLICT (rehearsal_of) DO UPDATE SET title = EXCLUDED.title, milestones = EXCLUDED.milestones
                    """)
            }
            try connection.query("UPDATE petitions SET rehearsing = \(on) WHERE id = \(petition.id)")
            return try Petitions.find(slug: slug, on: connection)
        }
    }

    /// What a rehearsal holds, for `status` and the reset's answer.
    public struct Held: Sendable, Equatable {
        public var signatures: Int64
        public var counted: Int64
    }

    /// Wipes the rehearsal's signatures, counts, history and milestones (the rehearsal stays on or off as it
    /// was); nil when there is no such petition. Tally's and dedup's writes wait while it runs, so no count
    /// is left for a signature removed.
    public static func reset(slug: String, on connection: PostgresConnection) throws -> Held? {
        try connection.transaction { connection in
            guard let petition = try Petitions.find(slug: slug, on: connection), petition.rehearsalOf == nil else { return nil }
            guard let id = try connection.query("SELECT id FROM petitions WHERE rehearsal_of = \(petition.id)").first?.decode(Int64.self, 0) else {
                return Held(signatures: 0, counted: 0)
            }
            try connection.execute("LOCK TABLE signatures, tally_counted, petition_counts IN SHARE ROW EXCLUSIVE MODE")
            let held = try self.held(rehearsalID: id, on: connection)
            try connection.query("DELETE FROM tally_counted t USING signatures s WHERE s.id = t.signature_id AND s.petition_id = \(id)")
            try connection.query("DELETE FROM signatures WHERE petition_id = \(id)")
            for table in ["petition_counts", "count_buckets", "count_minutes", "refusal_minutes", "milestones", "partner_claims"] {
                try connection.query("DELETE FROM \(identifier: table) WHERE petition_id = \(id)")
            }
            // A screen showing the rehearsal takes the lower count because its erasures grew.
            try connection.query("UPDATE petitions SET erased = erased + \(held.counted) WHERE id = \(id)")
            return held
        }
    }

    /// What the rehearsal of `slug` holds now (zero when it never had one); nil when there is no such petition.
    public static func held(slug: String, on connection: PostgresConnection) throws -> Held? {
        guard let petition = try Petitions.find(slug: slug, on: connection) else { return nil }
        guard let id = try connection.query("SELECT id FROM petitions WHERE rehearsal_of = \(petition.id)").first?.decode(Int64.self, 0) else {
            return Held(signatures: 0, counted: 0)
        }
        return try held(rehearsalID: id, on: connection)
    }

    private static func held(rehearsalID id: Int64, on connection: PostgresConnection) throws -> Held {
        let row = try connection.query("""
            SELECT (SELECT count(*) FROM signatures WHERE petition_id = \(id))::bigint,
                   (SELECT coalesce(sum(count), 0) FROM petition_counts WHERE petition_id = \(id))::bigint
            """)[0]
        return Held(signatures: try row.decode(Int64.self, 0), counted: try row.decode(Int64.self, 1))
    }
}
