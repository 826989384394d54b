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
            guard case .number(let id)? = event["signature_id"], let signatureID = Int64(exactly: id) else {
                return .failure(.invalid(path: path + ".signature_id", reason: "must be an integer"))
            }
            guard case .string(let submission)? = event["submission_id"], let submissionID = UUID.parse(submission) else {
                return .failure(.invalid(path: path + ".submission_id", reason: "must be a UUID"))
            }
            var strings: [String] = []
            for key in ["petition", "country", "source"] {
                guard case .string(let text)? = event[key] else { return .failure(.invalid(path: path + "." + key, reason: "must be a string")) }
                strings.append(text)
            }
            var dates: [Date] = []
            for key in ["signed_at", "accepted_at"] {
                guard case .string(let text)? = event[key], let date = Timestamp.parse(text) else {
                    return .failure(.invalid(path: path + "." + key, reason: "must be an RFC 3339 timestamp"))
                }
                dates.append(date)
            }
            events.append(SignatureAccepted(
                signatureID: signatureID, submissionID: submissionID, petition: strings[0], country: strings[1], source: strings[2],
                signedAt: dates[0], acceptedAt: dates[1]))
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
