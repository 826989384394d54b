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

    public var envelopeID: UUID
    public var sentAt: Date
    public var signatures: [Signature]
    /// Signatures that could not be read, with their index in the envelope. Never encoded.
    public var rejected: [RejectedSignature]

    public init(envelopeID: UUID = UUID(), sentAt: Date = Date(), signatures: [Signature]) {
        self.envelopeID = envelopeID
        self.sentAt = sentAt
        self.signatures = signatures
        self.rejected = []
    }

    enum CodingKeys: String, CodingKey {
        case schema, version
        case envelopeID = "envelope_id"
        case sentAt = "sent_at"
        case signatures
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        envelopeID = try c.decode(UUID.self, forKey: .envelopeID)
        sentAt = try c.decodeIfPresent(Date.self, forKey: .sentAt) ?? Date()
        let slots = try c.decode([Slot].self, forKey: .signatures)
        guard (1...Self.maximumSignatures).contains(slots.count) else {
            throw DecodingError.dataCorruptedError(
                forKey: .signatures, in: c,
                debugDescription: "must hold 1 to \(Self.maximumSignatures) signatures, not \(slots.count)")
        }
        signatures = []
        rejected = []
        for (index, slot) in slots.enumerated() {
            switch slot.result {
            case .success(let signature): signatures.append(signature)
            case .failure(let problem): rejected.append(RejectedSignature(index: index, problem: problem))
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.schema, forKey: .schema)
        try c.encode(Self.version, forKey: .version)
        try c.encode(envelopeID, forKey: .envelopeID)
        try c.encode(sentAt, forKey: .sentAt)
        try c.encode(signatures, forKey: .signatures)
    }

    /// One element of `signatures`, decoded and validated on its own so that a bad one cannot spoil the rest.
    private struct Slot: Decodable {
        var result: Result<Signature, ValidationProblem>

        init(from decoder: any Decoder) throws {
            do {
                result = .success(try Signature(from: decoder).validated())
            } catch let problem as ValidationProblem {
                result = .failure(problem)
            } catch let error as DecodingError {
                let problem = WireCodec.problem(from: error)
                switch problem {
                case .invalid(let path, let reason):
                    // Paths come back relative to the envelope; keep just the field within the signature.
                    let field = path.split(separator: ".").last.map(String.init) ?? path
                    result = .failure(ValidationProblem(field: field, reason: reason))
                default:
                    result = .failure(ValidationProblem(field: "", reason: problem.description))
                }
            }
        }
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
