import Foundation

/// A petition's count crossed one of its thresholds. Tally publishes it exactly once per petition and
/// threshold to `petitions.milestones`; delivery acts on it.
public struct MilestoneReached: WireMessage, Codable, Equatable {
    public static let schema = "undersigned.milestone-reached"
    public static let version = 1

    public var petition: String
    public var threshold: Int64
    /// The count when the crossing was recorded (at least `threshold`).
    public var total: Int64
    public var reachedAt: Date

    public init(petition: String, threshold: Int64, total: Int64, reachedAt: Date) {
        self.petition = petition
        self.threshold = threshold
        self.total = total
        self.reachedAt = reachedAt
    }

    enum CodingKeys: String, CodingKey {
        case schema, version, petition, threshold, total
        case reachedAt = "reached_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        petition = try c.decode(String.self, forKey: .petition)
        threshold = try c.decode(Int64.self, forKey: .threshold)
        total = try c.decode(Int64.self, forKey: .total)
        reachedAt = try c.decode(Date.self, forKey: .reachedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(Self.version, forKey: .version)
        try c.encode(petition, forKey: .petition)
        try c.encode(threshold, forKey: .threshold)
        try c.encode(total, forKey: .total)
        try c.encode(reachedAt, forKey: .reachedAt)
    }
}
