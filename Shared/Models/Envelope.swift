import Foundation

/// One AMQP message of submitted signatures (1 to 1,000): what intake publishes to `signatures.submitted`
/// and partners publish to `partners.submitted`. Its JSON Schema is `Shared/Models/Schemas/envelope.v1.schema.json`.
///
/// Decoding is per signature: a signature that does not match the contract lands in `rejected` with its
/// index and reason, and the good signatures of the same envelope are kept.
public struct Envelope: WireMessage, Equatable {
    public static let schema = "undersigned.envelope"
    public static let version = 1
    /// At most this many signatures in one envelope.
    public static let maximumSignatures = 1_000
    /// At most this many bytes in one envelope, checked before parsing: 1,000 signatures of a few hundred
    /// bytes each fit with room to spare. The broker refuses messages over 4 MiB before anyone reads them.
    public static let maximumBytes = 2 * 1024 * 1024
    /// Values the reader builds for one envelope at most (about 12 per signature, 20 in the OSDI person
    /// shape): wide arrays or objects that fit in the byte limit still cannot make the parsed form grow past it.
    public static let maximumValues = 40 * maximumSignatures

    public var envelopeID: UUID
    public var sentAt: Date
    public var signatures: [Signature]
    /// Signatures that could not be read, with their index in the envelope. Never encoded.
    public var rejected: [RejectedSignature]

    public init(envelopeID: UUID = .random(), sentAt: Date = Date(), signatures: [Signature]) {
        self.envelopeID = envelopeID
        self.sentAt = sentAt
        self.signatures = signatures
        self.rejected = []
    }

    /// Written by hand: intake and partners' tools send one per few hundred signatures, and
    /// `JSONEncoder` was a tenth of intake's time. The field names are those of the JSON Schema.
    public func wireBytes() -> [UInt8] {
        var json = JSONWriter(capacity: 128 + signatures.count * 256)
        json.raw("{\"schema\":"); json.string(Self.schema)
        json.raw(",\"version\":"); json.int(Self.version)
        json.raw(",\"envelope_id\":"); json.string(envelopeID.uuidString)
        json.raw(",\"sent_at\":"); json.string(Timestamp.format(sentAt))
        json.raw(",\"signatures\":[")
        for (index, signature) in signatures.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{\"submission_id\":"); json.string(signature.submissionID.uuidString)
            json.raw(",\"petition\":"); json.string(signature.petition)
            json.raw(",\"name\":"); json.string(signature.name)
            json.raw(",\"email\":"); json.string(signature.email)
            json.raw(",\"country\":"); json.string(signature.country)
            if let postalCode = signature.postalCode { json.raw(",\"postal_code\":"); json.string(postalCode) }
            json.raw(",\"contact_opt_in\":"); json.bool(signature.contactOptIn)
            json.raw(",\"source\":"); json.string(signature.source)
            json.raw(",\"signed_at\":"); json.string(Timestamp.format(signature.signedAt))
            if let language = signature.language { json.raw(",\"language\":"); json.string(language) }
            if let version = signature.textVersion { json.raw(",\"text_version\":"); json.int(Int(version)) }
            json.raw("}")
        }
        json.raw("]}")
        return json.bytes
    }

    /// Read by hand (`JSONReader`), per signature: a signature that does not match the contract becomes a
    /// `RejectedSignature` naming its field; the envelope fails only when its own fields are wrong.
    public static func decode(wire body: [UInt8]) -> Result<Envelope, WireDecodingProblem> {
        guard body.count <= maximumBytes else { return .failure(.tooLarge(bytes: body.count, maximum: maximumBytes)) }
        let object: [String: JSONValue]
        do { object = try WireCodec.header(of: body, expecting: Self.self, maximumValues: maximumValues).get() } catch { return .failure(error) }
        let envelopeID: UUID
        switch object["envelope_id"] {
        case nil, .null?: return .failure(.invalid(path: "envelope_id", reason: "is required"))
        case .string(let text)?:
            guard let id = UUID.parse(text) else { return .failure(.invalid(path: "envelope_id", reason: "must be a UUID")) }
            envelopeID = id
        default: return .failure(.invalid(path: "envelope_id", reason: "must be a UUID"))
        }
        var sentAt = Date()
        switch object["sent_at"] {
        case nil, .null?: break
        case .string(let text)?:
            guard let date = Timestamp.parse(text) else { return .failure(.invalid(path: "sent_at", reason: "must be an RFC 3339 timestamp")) }
            sentAt = date
        default: return .failure(.invalid(path: "sent_at", reason: "must be an RFC 3339 timestamp"))
        }
        guard case .array(let slots)? = object["signatures"] else {
            return .failure(.invalid(path: "signatures", reason: object["signatures"] == nil ? "is required" : "must be an array"))
        }
        guard (1...Self.maximumSignatures).contains(slots.count) else {
            return .failure(.invalid(path: "signatures", reason: "must hold 1 to \(Self.maximumSignatures) signatures, not \(slots.count)"))
        }
        var envelope = Envelope(envelopeID: envelopeID, sentAt: sentAt, signatures: [])
        envelope.signatures.reserveCapacity(slots.count)
        for (index, slot) in slots.enumerated() {
            do {
                envelope.signatures.append(try Signature(json: slot).validated())
            } catch {
                envelope.rejected.append(RejectedSignature(index: index, problem: error))
            }
        }
        return .success(envelope)
    }
}

extension Signature {
    /// A signature from its JSON object in an envelope, before validation; names the first field whose
    /// presence or type is wrong.
    init(json: JSONValue) throws(ValidationProblem) {
        guard case .object(var object) = json else { throw ValidationProblem(field: "signature", reason: "must be an object") }
        if case .object? = object["person"] {
            // The OSDI record-signature-helper shape: the person's fields, flattened.
            let flat = try PartnerRecord(json: json).fields
            let name = flat["name"] ?? [flat["given_name"], flat["family_name"]].compactMap { $0 }.joined(separator: " ")
            for (key, value) in [("name", name), ("email", flat["email"]), ("country", flat["country"]), ("postal_code", flat["postal_code"])] {
                if object[key] == nil, let value { object[key] = .string(value) }
            }
        }
        func string(_ key: String) throws(ValidationProblem) -> String {
            switch object[key] {
            case .string(let text)?: return text
            case nil: throw ValidationProblem(field: key, reason: "is required")
            case .null?: throw ValidationProblem(field: key, reason: "must be a string, not null")
            default: throw ValidationProblem(field: key, reason: "must be a string")
            }
        }
        guard let submissionID = UUID.parse(try string("submission_id")) else {
            throw ValidationProblem(field: "submission_id", reason: "must be a UUID")
        }
        let postalCode: String?
        switch object["postal_code"] {
        case nil, .null?: postalCode = nil
        case .string(let text)?: postalCode = text
        default: throw ValidationProblem(field: "postal_code", reason: "must be a string")
        }
        let contactOptIn: Bool
        switch object["contact_opt_in"] {
        case nil, .null?: contactOptIn = false
        case .bool(let flag)?: contactOptIn = flag
        default: throw ValidationProblem(field: "contact_opt_in", reason: "must be a boolean")
        }
        let language: String?
        switch object["language"] {
        case nil, .null?: language = nil
        case .string(let text)?: language = text
        default: throw ValidationProblem(field: "language", reason: "must be a string")
        }
        let textVersion: Int64?
        switch object["text_version"] {
        case nil, .null?: textVersion = nil
        case .number(let number)?:
            guard let whole = Int64(exactly: number) else { throw ValidationProblem(field: "text_version", reason: "must be a whole number") }
            textVersion = whole
        default: throw ValidationProblem(field: "text_version", reason: "must be a whole number")
        }
        guard let signedAt = Timestamp.parse(try string("signed_at")) else {
            throw ValidationProblem(field: "signed_at", reason: "must be an RFC 3339 timestamp")
        }
        self.init(
            submissionID: submissionID, petition: try string("petition"), name: try string("name"), email: try string("email"),
            country: try string("country"), postalCode: postalCode, contactOptIn: contactOptIn, source: try string("source"),
            signedAt: signedAt, language: language, textVersion: textVersion)
    }
}

/// A signature of an envelope that was not taken, and why.
public struct RejectedSignature: Hashable, Sendable, Codable {
    /// Position in the envelope's `signatures` array, from 0.
    public var index: Int
    public var problem: ValidationProblem

    public init(index: Int, problem: ValidationProblem) {
        self.index = index
        self.problem = problem
    }
}
