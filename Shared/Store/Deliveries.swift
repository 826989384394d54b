import Foundation
import Models
import Postgres

/// Someone a petition is delivered to, and how.
public struct DeliveryTarget: Sendable, Equatable, Codable {
    public enum Transport: String, Sendable, Codable, CaseIterable { case webhook, email, files }
    /// What starts a delivery to this target (besides `undersigned deliver`).
    public enum Trigger: String, Sendable, Codable, CaseIterable {
        /// Each milestone the petition crosses.
        case milestone
        /// Once a day (UTC) while the petition is open.
        case daily
        /// Once, when the petition closes.
        case close
    }

    public var id: Int64
    public var petitionID: Int64
    public var petition: String
    /// Short name, used in file names and commands: lower-case letters, digits, dashes.
    public var name: String
    /// How the target is addressed in the letter, e.g. "Office of the UN Secretary-General".
    public var title: String
    /// E.g. head-of-government, un-body (free text, for the manifest and the letter).
    public var kind: String
    /// ISO country codes whose signers this target receives; nil for all.
    public var countries: [String]?
    public var transport: Transport
    /// A URL (webhook), an e-mail address (email) or a directory (files).
    public var address: String
    public var triggers: [Trigger]
    public var active: Bool
    public var createdAt: Date
}

/// One delivery of a package to a target, as recorded.
public struct DeliveryRecord: Sendable, Equatable, Codable {
    public enum State: String, Sendable, Codable { case pending, delivered, failed }

    public var id: Int64
    public var targetID: Int64
    public var target: String
    public var transport: DeliveryTarget.Transport
    /// `milestone:1000`, `daily:2026-11-29`, `close`, `manual:…`: one delivery per target and trigger.
    public var trigger: String
    /// True when the package holds all of the target's signatures rather than those since the last delivery.
    public var full: Bool
    /// The package holds the signatures with ids in (afterID, throughID].
    public var afterID: Int64
    public var throughID: Int64
    /// Known once the package is built.
    public var signatures: Int64?
    public var countsByCountry: [String: Int64]?
    public var firstSignedAt: Date?
    public var lastSignedAt: Date?
    public var firstID: Int64?
    public var lastID: Int64?
    public var csvSHA256: String?
    public var csvBytes: Int64?
    public var builtAt: Date?
    public var state: State
    public var attempts: Int
    /// The receiver's last answer: an HTTP status (webhook) or an SMTP reply code (email).
    public var lastStatus: Int?
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?
    public var giveUpAt: Date
}

/// What a built package holds (written to its delivery row, and into its manifest).
public struct PackageSummary: Sendable, Equatable {
    public var signatures: Int64
    public var countsByCountry: [String: Int64]
    public var firstSignedAt: Date?
    public var lastSignedAt: Date?
    public var firstID: Int64?
    public var lastID: Int64?
    public var csvSHA256: String
    public var csvBytes: Int64

    public init(
        signatures: Int64, countsByCountry: [String: Int64], firstSignedAt: Date?, lastSignedAt: Date?, firstID: Int64?, lastID: Int64?,
        csvSHA256: String, csvBytes: Int64
    ) {
        self.signatures = signatures
        self.countsByCountry = countsByCountry
        self.firstSignedAt = firstSignedAt
        self.lastSignedAt = lastSignedAt
        self.firstID = firstID
        self.lastID = lastID
        self.csvSHA256 = csvSHA256
        self.csvBytes = csvBytes
    }
}

/// Queries on `delivery_targets` and `deliveries`.
public enum Deliveries {
    public enum TargetError: Error, CustomStringConvertible {
        case noPetition(String)
        case noTarget(petition: String, name: String)
        case invalid(String)

        public var description: String {
            switch self {
            case .noPetition(let slug): "there is no petition \(slug)"
            case .noTarget(let petition, let name): "petition \(petition) has no target \(name)"
            case .invalid(let reason): reason
            }
        }
    }

    /// Adds a target to a petition, or updates the one with this name (keeping its webhook secret).
    /// Returns the target and, when it was made now, the webhook secret to give to the receiver.
    public static func saveTarget(
        petition slug: String, name: String, title: String, kind: String, countries: [String]?, transport: DeliveryTarget.Transport,
        address: String, triggers: [DeliveryTarget.Trigger], on connection: PostgresConnection
    ) throws -> (target: DeliveryTarget, newSecret: String?) {
        guard let petition = try Petitions.find(slug: slug, on: connection) else { throw TargetError.noPetition(slug) }
        try validate(name: name, countries: countries, transport: transport, address: address)
        let secret = transport == .webhook ? WebhookSignature.newSecret() : nil
        let rows = try connection.query("""
            INSERT INTO delivery_targets (petition_id, name, title, kind, countries, transport, address, secret, triggers)
            VALUES (\(petition.id), \(name), \(title), \(kind), \(countries)::text[], \(transport.rawValue), \(address), \(secret),
                    \(triggers.map(\.rawValue))::text[])
            ON CONFLICT (petition_id, name) DO UPDATE SET title = EXCLUDED.title, kind = EXCLUDED.kind, countries = EXCLUDED.countries,
                transport = EXCLUDED.transport, address = EXCLUDED.address, triggers = EXCLUDED.triggers, active = true,
                secret = COALESCE(delivery_targets.secret, EXCLUDED.secret)
            RETURNING id, secret = \(secret) AS new_secret
            """)
        let id = try rows[0].decode(Int64.self, 0)
        let isNew = try rows[0].decodeIfPresent(Bool.self, 1) ?? false
        return (try target(id: id, on: connection)!, isNew ? secret : nil)
    }

    static func validate(name: String, countries: [String]?, transport: DeliveryTarget.Transport, address: String) throws {
        guard name.range(of: "^[a-z0-9][a-z0-9-]{0,63}$", options: .regularExpression) != nil else {
            throw TargetError.invalid("a target's name is lower-case letters, digits and dashes (at most 64)")
        }
        for country in countries ?? [] where !Country.assigned.contains(country) {
            throw TargetError.invalid("\(country) is not an ISO 3166-1 country code")
        }
        if countries?.isEmpty == true { throw TargetError.invalid("name at least one country, or all") }
        switch transport {
        case .webhook:
            guard let url = URL(string: address), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
                throw TargetError.invalid("a webhook address is an http or https URL")
            }
        case .email:
            guard address.range(of: "^[^@\\s<>]+@[^@\\s<>]+\\.[^@\\s<>]+$", options: .regularExpression) != nil else {
                throw TargetError.invalid("an e-mail address looks like office@example.org")
            }
        case .files:
            guard address.hasPrefix("/") else { throw TargetError.invalid("a files target is an absolute directory path") }
        }
    }

    /// A petition's targets (active ones, unless `all`).
    public static func targets(petition slug: String, all: Bool = false, on connection: PostgresConnection) throws -> [DeliveryTarget] {
        try connection.query("""
            SELECT \(sql: targetColumns) FROM delivery_targets t JOIN petitions p ON p.id = t.petition_id
            WHERE p.slug = \(slug) AND (t.active OR \(all)) ORDER BY t.id
            """).map(target)
    }

    public static func target(id: Int64, on connection: PostgresConnection) throws -> DeliveryTarget? {
        try connection.query("SELECT \(sql: targetColumns) FROM delivery_targets t JOIN petitions p ON p.id = t.petition_id WHERE t.id = \(id)")
            .first.map(target)
    }

    /// The secret a target's webhook calls are signed with.
    public static func secret(target id: Int64, on connection: PostgresConnection) throws -> String? {
        try connection.query("SELECT secret FROM delivery_targets WHERE id = \(id)").first?.decodeIfPresent(String.self, 0)
    }

    /// Stops delivering to a target (its deliveries stay on record). Returns false when there is none.
    @discardableResult
    public static func deactivate(petition slug: String, name: String, on connection: PostgresConnection) throws -> Bool {
        try connection.query("""
            UPDATE delivery_targets t SET active = false FROM petitions p
            WHERE p.id = t.petition_id AND p.slug = \(slug) AND t.name = \(name)
            """).affectedRows == 1
    }

    public enum Planned: Sendable, Equatable {
        /// A new delivery, to be built and sent.
        case created(DeliveryRecord)
        /// This trigger already made one (the same trigger twice is one delivery).
        case existing(DeliveryRecord)
        /// No signatures for this target since its last delivery.
        case nothingNew
    }

    /// Plans a delivery to `target` for `trigger`: the target's signatures since its last delivery (or all
    /// of them when `full`). Runs in a transaction (joins the caller's).
    ///
    /// The range's upper bound is the highest signature id once every transaction writing signatures has
    /// finished: the planner takes `signatures` in SHARE mode for that instant (writers wait a moment,
    /// nobody fails), so no signature committed later can carry a lower id. Incremental deliveries of a
    /// target therefore follow each other with no gap and no overlap, however signatures race in.
    public static func plan(
        target: DeliveryTarget, trigger: String, full: Bool = false, giveUpAfter: Duration, on connection: PostgresConnection
    ) throws -> Planned {
        try connection.transaction { connection in
            // One planner per target at a time.
            try connection.query("SELECT id FROM delivery_targets WHERE id = \(target.id) FOR UPDATE")
            if let existing = try connection.query("SELECT \(sql: deliveryColumns) \(sql: deliveryJoin) WHERE d.target_id = \(target.id) AND d.trigger_key = \(trigger)")
                .first.map(delivery) {
                return .existing(existing)
            }
            let after = full ? 0 : try connection.query("SELECT COALESCE(max(through_id), 0) FROM deliveries WHERE target_id = \(target.id)")[0]
                .decode(Int64.self, 0)
            // Cheap check first, without holding anyone up.
            guard try hasSignatures(target: target, after: after, through: nil, on: connection) else { return .nothingNew }
            try connection.execute("SET LOCAL lock_timeout = '10s'; LOCK TABLE signatures IN SHARE MODE")
            let through = try connection.query("SELECT COALESCE(max(id), 0) FROM signatures")[0].decode(Int64.self, 0)
            let row = try connection.query("""
                INSERT INTO deliveries (target_id, trigger_key, full_range, after_id, through_id, give_up_at)
                VALUES (\(target.id), \(trigger), \(full), \(after), \(through), now() + make_interval(secs => \(giveUpAfter.inSeconds)))
                RETURNING id
                """)
            return .created(try find(id: row[0].decode(Int64.self, 0), on: connection)!)
        }
    }

    /// Plans a delivery for `trigger` to every active target of the petition that listens to `kind`.
    public static func planAll(
        petitionID: Int64, kind: DeliveryTarget.Trigger, trigger: String, giveUpAfter: Duration, on connection: PostgresConnection
    ) throws -> [Planned] {
        let targets = try connection.query("""
            SELECT \(sql: targetColumns) FROM delivery_targets t JOIN petitions p ON p.id = t.petition_id
            WHERE t.petition_id = \(petitionID) AND t.active AND \(kind.rawValue) = ANY(t.triggers) ORDER BY t.id
            """).map(target)
        return try targets.map { try plan(target: $0, trigger: trigger, giveUpAfter: giveUpAfter, on: connection) }
    }

    /// Active targets with a schedule (`daily` or `close`), with their petition's state.
    public static func scheduled(on connection: PostgresConnection) throws -> [(target: DeliveryTarget, petitionOpen: Bool)] {
        try connection.query("""
            SELECT \(sql: targetColumns), p.status = 'open' AND (p.closes_at IS NULL OR p.closes_at > now())
            FROM delivery_targets t JOIN petitions p ON p.id = t.petition_id
            WHERE t.active AND (t.triggers && '{daily,close}'::text[]) ORDER BY t.id
            """).map { (try target($0), try $0.decode(Bool.self, 12)) }
    }

    static func hasSignatures(target: DeliveryTarget, after: Int64, through: Int64?, on connection: PostgresConnection) throws -> Bool {
        try connection.query("""
            SELECT EXISTS (SELECT 1 FROM signatures WHERE petition_id = \(target.petitionID) AND id > \(after)
                           AND (\(through)::bigint IS NULL OR id <= \(through))
                           AND (\(target.countries)::text[] IS NULL OR country = ANY(\(target.countries)::text[])))
            """)[0].decode(Bool.self, 0)
    }

    public static func find(id: Int64, on connection: PostgresConnection) throws -> DeliveryRecord? {
        try connection.query("SELECT \(sql: deliveryColumns) \(sql: deliveryJoin) WHERE d.id = \(id)").first.map(delivery)
    }

    /// A petition's deliveries, newest first.
    public static func list(petition slug: String, limit: Int = 200, on connection: PostgresConnection) throws -> [DeliveryRecord] {
        try connection.query("""
            SELECT \(sql: deliveryColumns) \(sql: deliveryJoin) JOIN petitions p ON p.id = t.petition_id
            WHERE p.slug = \(slug) ORDER BY d.id DESC LIMIT \(limit)
            """).map(delivery)
    }


    /// Records what the built package holds.
    public static func recordPackage(_ id: Int64, _ summary: PackageSummary, on connection: PostgresConnection) throws {
        let counts = String(decoding: try JSONEncoder().encode(summary.countsByCountry), as: UTF8.self)
        try connection.query("""
            UPDATE deliveries SET signatures = \(summary.signatures), counts = \(counts)::jsonb, first_signed_at = \(summary.firstSignedAt),
                last_signed_at = \(summary.lastSignedAt), first_id = \(summary.firstID), last_id = \(summary.lastID),
                csv_sha256 = \(summary.csvSHA256), csv_bytes = \(summary.csvBytes), built_at = COALESCE(built_at, now())
            WHERE id = \(id)
            """)
    }

    private static let targetColumns: StaticString = """
        t.id, t.petition_id, p.slug, t.name, t.title, t.kind, t.countries, t.transport, t.address, t.triggers, t.active, t.created_at
        """

    private static func target(_ row: PostgresRow) throws -> DeliveryTarget {
        DeliveryTarget(
            id: try row.decode(Int64.self, 0), petitionID: try row.decode(Int64.self, 1), petition: try row.decode(String.self, 2),
            name: try row.decode(String.self, 3), title: try row.decode(String.self, 4), kind: try row.decode(String.self, 5),
            countries: try row.decodeIfPresent(String.self, 6).map(textArray),
            transport: DeliveryTarget.Transport(rawValue: try row.decode(String.self, 7)) ?? .files,
            address: try row.decode(String.self, 8),
            triggers: textArray(try row.decode(String.self, 9)).compactMap(DeliveryTarget.Trigger.init),
            active: try row.decode(Bool.self, 10), createdAt: try row.decode(Date.self, 11))
    }

    private static let deliveryJoin: StaticString = "FROM deliveries d JOIN delivery_targets t ON t.id = d.target_id"
    private static let deliveryColumns: StaticString = """
        d.id, d.target_id, t.name, t.transport, d.trigger_key, d.full_range, d.after_id, d.through_id, d.signatures, d.counts::text,
        d.first_signed_at, d.last_signed_at, d.first_id, d.last_id, d.csv_sha256, d.csv_bytes, d.built_at, d.state, d.attempts,
        d.last_status, d.last_error, d.created_at, d.delivered_at, d.give_up_at
        """

    private static func delivery(_ row: PostgresRow) throws -> DeliveryRecord {
        DeliveryRecord(
            id: try row.decode(Int64.self, 0), targetID: try row.decode(Int64.self, 1), target: try row.decode(String.self, 2),
            transport: DeliveryTarget.Transport(rawValue: try row.decode(String.self, 3)) ?? .files,
            trigger: try row.decode(String.self, 4), full: try row.decode(Bool.self, 5),
            afterID: try row.decode(Int64.self, 6), throughID: try row.decode(Int64.self, 7),
            signatures: try row.decodeIfPresent(Int64.self, 8),
            countsByCountry: try row.decodeIfPresent(String.self, 9).flatMap { try? JSONDecoder().decode([String: Int64].self, from: Data($0.utf8)) },
            firstSignedAt: try row.decodeIfPresent(Date.self, 10), lastSignedAt: try row.decodeIfPresent(Date.self, 11),
            firstID: try row.decodeIfPresent(Int64.self, 12), lastID: try row.decodeIfPresent(Int64.self, 13),
            csvSHA256: try row.decodeIfPresent(String.self, 14), csvBytes: try row.decodeIfPresent(Int64.self, 15),
            builtAt: try row.decodeIfPresent(Date.self, 16),
            state: DeliveryRecord.State(rawValue: try row.decode(String.self, 17)) ?? .failed, attempts: try row.decode(Int.self, 18),
            lastStatus: try row.decodeIfPresent(Int.self, 19), lastError: try row.decodeIfPresent(String.self, 20),
            createdAt: try row.decode(Date.self, 21), deliveredAt: try row.decodeIfPresent(Date.self, 22), giveUpAt: try row.decode(Date.self, 23))
    }

    /// `{a,b}` → `["a", "b"]` (the array elements here never need quoting: codes and trigger names).
    static func textArray(_ text: String) -> [String] {
        text.trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",").map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
    }
}

extension DeliveryRecord {
    /// Deliveries as the admin API and `undersigned deliveries --json` show them: snake_case keys,
    /// RFC 3339 times.
    public static func json(_ records: [DeliveryRecord]) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .rfc3339
        return try encoder.encode(records)
    }
}
