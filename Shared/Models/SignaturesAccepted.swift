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

    /// Written and read by hand: one message per batch carries up to hundreds of events, and
    /// `JSONEncoder`/`JSONDecoder` were the largest cost in dedup and tally.
    public func wireBytes() -> [UInt8] {
        var json = JSONWriter(capacity: 64 + events.count * 220)
        json.raw("{\"schema\":"); json.string(Self.schema)
        json.raw(",\"version\":"); json.int(Self.version)
        json.raw(",\"events\":[")
        for (index, event) in events.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{\"signature_id\":"); json.int(Int(event.signatureID))
            json.raw(",\"submission_id\":"); json.string(event.submissionID.uuidString)
            json.raw(",\"petition\":"); json.string(event.petition)
            json.raw(",\"country\":"); json.string(event.country)
            json.raw(",\"source\":"); json.string(event.source)
            json.raw(",\"signed_at\":"); json.string(Timestamp.format(event.signedAt))
            json.raw(",\"accepted_at\":"); json.string(Timestamp.format(event.acceptedAt))
            json.raw("}")
        }
        json.raw("]}")
        return json.bytes
    }

    public static func decode(wire body: [UInt8]) -> Result<SignaturesAccepted, WireDecodingProblem> {
        let object: [String: JSONValue]
        do { object = try WireCodec.header(of: body, expecting: Self.self).get() } catch { return .failure(error) }
        guard case .array(let items)? = object["events"] else {
            return .failure(.invalid(path: "events", reason: object["events"] == nil ? "is required" : "must be an array"))
        }
        var events: [SignatureAccepted] = []
        events.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            let path = "events[\(index)]"
            guard case .object(let event) = item else { return .failure(.invalid(path: path, reason: "must be an object")) }
            func field<T>(_ key: String, _ reason: String, _ read: (JSONValue) -> T?) throws(WireDecodingProblem) -> T {
                guard let value = event[key].flatMap(read) else { throw .invalid(path: path + "." + key, reason: reason) }
                return value
            }
            func string(_ value: JSONValue) -> String? { if case .string(let text) = value { text } else { nil } }
            do {
                events.append(SignatureAccepted(
                    signatureID: try field("signature_id", "must be an integer") { if case .number(let n) = $0 { Int64(exactly: n) } else { nil } },
                    submissionID: try field("submission_id", "must be a UUID") { string($0).flatMap(UUID.parse) },
                    petition: try field("petition", "must be a string", string),
                    country: try field("country", "must be a string", string),
                    source: try field("source", "must be a string", string),
                    signedAt: try field("signed_at", "must be an RFC 3339 timestamp") { string($0).flatMap(Timestamp.parse) },
                    acceptedAt: try field("accepted_at", "must be an RFC 3339 timestamp") { string($0).flatMap(Timestamp.parse) }))
            } catch {
                return .failure(error)
            }
        }
        return .success(SignaturesAccepted(events: events))
    }
}

/// One signature accepted into the signatures table.
public struct SignatureAccepted: Sendable, Hashable {
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
}
