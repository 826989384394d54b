import Foundation
import Models
import Postgres

/// What the count API, the live stream and the stage page show of a petition: the exact count, by
/// country, the signing rate, and its milestones. Read from the counters, never from signatures.
public struct CountView: Sendable, Equatable {
    public var petition: String
    public var title: String
    public var total: Int64
    public var byCountry: [String: Int64]
    /// By channel (`web`, `kiosk`, `partner`, `paper`).
    public var byChannel: [String: Int64] = [:]
    public var updatedAt: Date?
    /// Signatures counted in the last minute (10-second buckets).
    public var ratePerMinute: Int64
    public var milestones: [Int64]
    public var reached: [Int64]
    /// Scheduled, open, paused or closed, as of the petition the view was loaded with.
    public var phase: Petition.Phase = .open
    public var opensAt: Date?
    /// A rehearsal is on: the count is the rehearsal's, never the real one (screens say REHEARSAL).
    public var rehearsal = false
    /// Signatures erased from this count so far: a screen takes a smaller count when this grew.
    public var erased: Int64 = 0
    /// Set when the database could not be read and this is the last good view: how old it is, in seconds.
    public var staleSeconds: Int?

    /// The first threshold not yet reached, if any.
    public var nextMilestone: Int64? { milestones.first { $0 > total } }

    /// The petition's view; while a rehearsal is on, its rehearsal's counts under the petition's name.
    public static func load(_ petition: Petition, on connection: PostgresConnection) throws -> CountView {
        let counted = petition.rehearsal?.id ?? petition.id
        let count = try Counts.read(petitionID: counted, on: connection)
        let rate = try connection.query("""
            SELECT coalesce(sum(count), 0)::bigint FROM count_buckets
            WHERE petition_id = \(counted) AND bucket > now() - interval '60 seconds'
            """).first?.decode(Int64.self, 0) ?? 0
        let reached = try connection.query("SELECT threshold FROM milestones WHERE petition_id = \(counted) ORDER BY threshold")
            .map { try $0.decode(Int64.self, 0) }
        return CountView(
            petition: petition.slug, title: petition.title, total: count.total, byCountry: count.byCountry, byChannel: count.byChannel,
            updatedAt: count.updatedAt, ratePerMinute: rate, milestones: petition.milestones, reached: reached,
            phase: petition.signingPhase(), opensAt: petition.opensAt, rehearsal: petition.rehearsal != nil,
            erased: petition.rehearsal?.erased ?? petition.erased)
    }

    /// `W/"<total>-<updated ms>-<phase>[-rehearsal]-<countries>"`: changes whenever the count, the phase,
    /// a rehearsal or what is shown of the countries does.
    public var etag: String {
        "W/\"\(total)-\(Int64((updatedAt?.timeIntervalSince1970 ?? 0) * 1000))-\(phase.rawValue)\(rehearsal ? "-rehearsal" : "")-\(erased)-\(byCountry.count)\""
    }

    public var json: [String: Any] {
        [
            "petition": petition, "title": title, "total": total, "by_country": byCountry, "by_channel": byChannel, "rehearsal": rehearsal, "erased": erased,
            "updated_at": updatedAt.map(Timestamp.format) ?? NSNull(),
            "rate_per_minute": ratePerMinute, "milestones": milestones, "milestones_reached": reached,
            "next_milestone": nextMilestone.map { $0 as Any } ?? NSNull(),
            "status": phase.rawValue, "opens_at": opensAt.map(Timestamp.format) ?? NSNull(),
            "stale_seconds": staleSeconds.map { $0 as Any } ?? NSNull(),
        ]
    }

    public var jsonBytes: [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])) ?? Data("{}".utf8))
    }
}
