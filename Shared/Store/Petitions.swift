import Foundation
import Models
import Postgres

/// A petition as stored.
public struct Petition: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case open, closed }

    public var id: Int64
    public var slug: String
    public var title: String
    public var body: String
    public var status: Status
    public var closesAt: Date?
    /// Thresholds that produce a `MilestoneReached` once each, ascending.
    public var milestones: [Int64]
    public var createdAt: Date
    /// A signature counts only once its signer clicked the link e-mailed to them.
    public var requiresVerification = false
    /// The short code of the signing page's URL (`/s/CODE`): 3 to 16 lower-case letters and digits.
    public var code = ""
    /// The language its first text is written in (shown where a signer's language has no translation).
    public var language = "en"

    /// When signing opens (`nil`: as soon as it is open). Before it, signers are told when.
    public var opensAt: Date?
    /// Since when ops have paused it (`undersigned petition pause`): nothing is taken until it is resumed.
    public var pausedAt: Date?
    /// While a rehearsal is on (`undersigned petition rehearse SLUG on`): the petition its signatures go to
    /// instead, counted apart and never delivered.
    public var rehearsal: Rehearsal?
    /// Set on a rehearsal petition: the id of the petition it rehearses. Nobody signs it by its own name.
    public var rehearsalOf: Int64?
    /// Signatures erased from its count so far: a count that goes down says so.
    public var erased: Int64 = 0

    public struct Rehearsal: Sendable, Equatable, Codable {
        public var id: Int64
        public var slug: String
        /// Signatures wiped from the rehearsal's count so far (`rehearse reset`): screens take the lower count.
        public var erased: Int64 = 0

        public init(id: Int64, slug: String, erased: Int64 = 0) {
            self.id = id
            self.slug = slug
            self.erased = erased
        }
    }

    /// Where a petition is in its life, as signers and screens are told.
    public enum Phase: String, Sendable, Equatable {
        /// Not open yet: `opensAt` is to come.
        case scheduled
        case open
        /// Held by ops for a moment (a bad night): signers are asked to try again shortly.
        case paused
        /// Closed by hand, or past its closing time.
        case closed
    }

    public func phase(at now: Date = Date()) -> Phase {
        if status == .closed || closesAt.map({ now >= $0 }) == true { return .closed }
        if let opensAt, now < opensAt { return .scheduled }
        return pausedAt == nil ? .open : .paused
    }

    /// The phase signers meet: while a rehearsal is on, open (or paused) whatever the window says: a
    /// soundcheck is before the opening.
    public func signingPhase(at now: Date = Date()) -> Phase {
        guard rehearsal != nil else { return phase(at: now) }
        return pausedAt == nil ? .open : .paused
    }

    /// Where signatures taken now go: the rehearsal petition while one is on, else this one.
    public var signingSlug: String { rehearsal?.slug ?? slug }

    /// Open, opened, not paused, and its closing time (if any) has not passed (or rehearsing, not paused).
    public func isTakingSignatures(at now: Date = Date()) -> Bool {
        signingPhase(at: now) == .open
    }
}

/// Queries on `petitions`. Each takes the connection it runs on (see `PostgresPool.withConnection`).
public enum Petitions {
    public static let defaultMilestones: [Int64] = [1_000, 10_000, 100_000, 1_000_000]

    public static func find(slug: String, on connection: PostgresConnection) throws -> Petition? {
        try connection.query("SELECT \(sql: columns) FROM petitions WHERE slug = \(slug)")
            .first.map(petition)
    }

    /// The petition whose signing page is `/s/CODE`.
    public static func find(code: String, on connection: PostgresConnection) throws -> Petition? {
        try connection.query("SELECT \(sql: columns) FROM petitions WHERE code = \(code)")
            .first.map(petition)
    }

    /// The petitions, without rehearsal petitions (each is shown with the one it rehearses).
    public static func list(on connection: PostgresConnection) throws -> [Petition] {
        try connection.query("SELECT \(sql: columns) FROM petitions WHERE rehearsal_of IS NULL ORDER BY created_at, id")
            .map(petition)
    }

    /// Creates the petition, or updates its title and text if the slug exists (so seeding is repeatable).
    /// The text (with `consent`, the exact wording of the contact opt-in) becomes a new version in
    /// `language` when it differs from the current one. A new petition gets a random short code unless
    /// `code` names one; an existing petition keeps its code unless `code` is given.
    @discardableResult
    public static func upsert(
        slug: String, title: String, body: String = "", milestones: [Int64] = defaultMilestones, closesAt: Date? = nil,
        opensAt: Date? = nil, language: String = "en", consent: String = PetitionText.defaultConsent, code: String? = nil,
        on connection: PostgresConnection
    ) throws -> Petition {
        let slug = try PetitionSlug.validate(slug)
        let sorted = Array(Set(milestones)).sorted()
        if let code { _ = try PetitionCode.validate(code) }
        return try connection.transaction { connection in
            let rows = try connection.query("""
                INSERT INTO petitions (slug, title, body, milestones, closes_at, opens_at, language, code)
                VALUES (\(slug), \(title), \(body), \(sorted)::bigint[], \(closesAt)::timestamptz, \(opensAt)::timestamptz, \(language),
                        COALESCE(\(code), \(PetitionCode.random())))
                ON CONFLICT (slug) DO UPDATE SET title = EXCLUDED.title, body = EXCLUDED.body,
                    milestones = EXCLUDED.milestones, closes_at = EXCLUDED.closes_at, opens_at = EXCLUDED.opens_at,
                    code = COALESCE(\(code), petitions.code)
                RETURNING \(sql: columns)
                """)
            let petition = try petition(rows[0])
            try PetitionTexts.add(
                PetitionText(id: 0, language: language, title: title, body: body, consent: consent), to: petition.id, on: connection)
            return petition
        }
    }

    /// Opens or closes a petition; returns false when there is no such slug.
    @discardableResult
    public static func setStatus(_ status: Petition.Status, slug: String, on connection: PostgresConnection) throws -> Bool {
        try connection.query("""
            UPDATE petitions SET status = \(status.rawValue),
                closed_at = CASE WHEN \(status.rawValue) = 'closed' THEN COALESCE(closed_at, now()) END
            WHERE slug = \(slug)
            """).affectedRows == 1
    }

    /// Pauses (`paused`) or resumes a petition; returns false when there is no such slug. Every intake
    /// instance sees it within its petition cache's lifetime (5 s).
    @discardableResult
    public static func setPaused(_ paused: Bool, slug: String, on connection: PostgresConnection) throws -> Bool {
        try connection.query("""
            UPDATE petitions SET paused_at = CASE WHEN \(paused) THEN COALESCE(paused_at, now()) END WHERE slug = \(slug)
            """).affectedRows == 1
    }

    /// Moves the opening time, the closing time, or both (a nil leaves it as it is); returns false when
    /// there is no such slug. A petition past its old closing time opens again if the new one is later.
    @discardableResult
    public static func setWindow(slug: String, opensAt: Date? = nil, closesAt: Date? = nil, on connection: PostgresConnection) throws -> Bool {
        try connection.query("""
            UPDATE petitions SET opens_at = COALESCE(\(opensAt)::timestamptz, opens_at), closes_at = COALESCE(\(closesAt)::timestamptz, closes_at)
            WHERE slug = \(slug)
            """).affectedRows == 1
    }

    /// Replaces a petition's milestone thresholds; returns false when there is no such slug.
    /// Thresholds already crossed stay recorded; a new threshold below the count is recorded with the next signature.
    @discardableResult
    public static func setMilestones(_ milestones: [Int64], slug: String, on connection: PostgresConnection) throws -> Bool {
        let sorted = Array(Set(milestones.filter { $0 > 0 })).sorted()
        return try connection.query("UPDATE petitions SET milestones = \(sorted)::bigint[] WHERE slug = \(slug)").affectedRows == 1
    }

    private static let columns: StaticString =
        """
        id, slug, title, body, status, closes_at, milestones, created_at, requires_verification, code, language, opens_at, paused_at,
        rehearsal_of, (SELECT r.id FROM petitions r WHERE r.rehearsal_of = petitions.id AND petitions.rehearsing) AS rehearsal_id,
        (SELECT r.slug FROM petitions r WHERE r.rehearsal_of = petitions.id AND petitions.rehearsing) AS rehearsal_slug, erased,
        (SELECT r.erased FROM petitions r WHERE r.rehearsal_of = petitions.id AND petitions.rehearsing) AS rehearsal_erased
        """

    /// Turns signer verification on or off; returns false when there is no such slug.
    @discardableResult
    public static func setVerification(_ required: Bool, slug: String, on connection: PostgresConnection) throws -> Bool {
        try connection.query("UPDATE petitions SET requires_verification = \(required) WHERE slug = \(slug)").affectedRows == 1
    }

    static func petition(_ row: PostgresRow) throws -> Petition {
        Petition(
            id: try row.decode(Int64.self, 0),
            slug: try row.decode(String.self, 1),
            title: try row.decode(String.self, 2),
            body: try row.decode(String.self, 3),
            status: Petition.Status(rawValue: try row.decode(String.self, 4)) ?? .closed,
            closesAt: try row.decodeIfPresent(Date.self, 5),
            milestones: parseBigintArray(try row.decode(String.self, 6)),
            createdAt: try row.decode(Date.self, 7),
            requiresVerification: try row.decode(Bool.self, 8),
            code: try row.decode(String.self, 9),
            language: try row.decode(String.self, 10),
            opensAt: try row.decodeIfPresent(Date.self, 11),
            pausedAt: try row.decodeIfPresent(Date.self, 12),
            rehearsal: try row.decodeIfPresent(Int64.self, 14).map {
                Petition.Rehearsal(id: $0, slug: try row.decode(String.self, 15), erased: try row.decode(Int64.self, 17))
            },
            rehearsalOf: try row.decodeIfPresent(Int64.self, 13),
            erased: try row.decode(Int64.self, 16))
    }

    /// `{1000,10000}` → `[1000, 10000]`
    static func parseBigintArray(_ text: String) -> [Int64] {
        text.trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",").compactMap { Int64($0) }
    }
}
