import Foundation

/// Dedup's answer for a batch: the signatures that are now in the signatures table, one event each.
/// Published to `signatures.accepted`; tally counts each `signatureID` exactly once.
///
/// Carries no personal data: ids, petition, country, source and times only.
public struct SignaturesAccepted: WireMessage, Equatable {
    public static let schema = "undersigned.signatures-accepted"
    public static let version = 1

    public var events: [SignatureAccepted]

    public init(events: [SignatureAccepted]) {
        self.events = events
    }

    enum CodingKeys: String, CodingKey { case schema, version, events }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        events = try c.decode([SignatureAccepted].self, forKey: .events)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(Self.version, forKey: .version)
        try c.encode(events, forKey: .events)
    }
}

/// One signature accepted into the signatures table.
public struct SignatureAccepted: Codable, Sendable, Hashable {
    /// The row id in `signatures`; unique, the key tally counts by.
    public var signatureID: Int64
    public var submissionID: UUID
    public var petition: String
    public var country: String
    public var source: String
    public var signedAt: Date
    public var acceptedAt: Date

    public init(
        signatureID: Int64, submissionID: UUID, petition: String, country: String, source: String,
        signedAt: Date, acceptedAt: Date
    ) {
        self.signatureID = signatureID
        self.submissionID = submissionID
        self.petition = petition
        self.country = country
        self.source = source
        self.signedAt = signedAt
        self.acceptedAt = acceptedAt
    }

    enum CodingKeys: String, CodingKey {
        case signatureID = "signature_id"
        case submissionID = "submission_id"
        case petition, country, source
        case signedAt = "signed_at"
        case acceptedAt = "accepted_at"
    }
}
