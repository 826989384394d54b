import Foundation
import Postgres

/// Optional work that ops can switch off at run time, without a deploy, on a bad night
/// (`undersigned switch off NAME`). Stored in the database; every instance reads them every two seconds
/// (`SwitchWatcher`). A switch never set is on.
public enum Switch: String, CaseIterable, Sendable {
    /// The count API's and live stream's per-country breakdown (`by_country`).
    case countryBreakdown = "country-breakdown"
    /// Intake's trending sources (addresses and domains signing unusually often).
    case trending
    /// Mails asking signers to confirm (petitions that require it): held, sent when switched on again.
    case verificationMails = "verification-mails"
    /// Partners' receipt webhooks: held, called when switched on again (receipts stay in their queues).
    case receiptWebhooks = "receipt-webhooks"

    public var meaning: String {
        switch self {
        case .countryBreakdown: "the count API's per-country breakdown"
        case .trending: "intake's trending sources"
        case .verificationMails: "mails asking signers to confirm (held while off)"
        case .receiptWebhooks: "partners' receipt webhooks (held while off)"
        }
    }
}

public enum Switches {
    public static func set(_ which: Switch, on: Bool, on connection: PostgresConnection) throws {
        try connection.query("""
            INSERT INTO switches (name, enabled) VALUES (\(which.rawValue), \(on))
            ON CONFLICT (name) DO UPDATE SET enabled = EXCLUDED.enabled, changed_at = now()
            """)
    }

    /// The switches that are off now.
    public static func off(on connection: PostgresConnection) throws -> Set<Switch> {
        Set(try connection.query("SELECT name FROM switches WHERE NOT enabled").compactMap { Switch(rawValue: try $0.decode(String.self, 0)) })
    }

    /// Every switch, whether it is on, and when it last changed (nil: never set).
    public static func all(on connection: PostgresConnection) throws -> [(which: Switch, on: Bool, changedAt: Date?)] {
        var stored: [String: (Bool, Date)] = [:]
        for row in try connection.query("SELECT name, enabled, changed_at FROM switches") {
            stored[try row.decode(String.self, 0)] = (try row.decode(Bool.self, 1), try row.decode(Date.self, 2))
        }
        return Switch.allCases.map { ($0, stored[$0.rawValue]?.0 ?? true, stored[$0.rawValue]?.1) }
    }
}
