import Foundation

/// A message contract that travels over AMQP as JSON: it names its schema and version on the wire,
/// so a consumer can tell a message it does not understand from one that is malformed.
public protocol WireMessage: Sendable {
    /// The schema name carried in the `schema` field, e.g. `undersigned.envelope`.
    static var schema: String { get }
    /// The version this code writes and reads.
    static var version: Int { get }
    /// The JSON body. Defaults to `JSONEncoder`; messages sent per signature write it by hand.
    func wireBytes() -> [UInt8]
    /// The value of a body. Defaults to `JSONDecoder` for `Decodable` messages.
    static func decode(wire body: [UInt8]) -> Result<Self, WireDecodingProblem>
}

extension WireMessage where Self: Encodable {
    public func wireBytes() -> [UInt8] { WireCodec.encodeWithFoundation(self) }
}

extension WireMessage where Self: Decodable {
    public static func decode(wire body: [UInt8]) -> Result<Self, WireDecodingProblem> {
        WireCodec.decodeWithFoundation(Self.self, from: body)
    }
}

/// Why a message body could not be turned into a contract value. Never carries signer data.
public enum WireDecodingProblem: Error, Equatable, Sendable, CustomStringConvertible {
    /// The body is not JSON, or not an object.
    case notJSON
    /// The body names another schema than the one this consumer reads.
    case wrongSchema(expected: String, found: String?)
    /// The schema is right but this code does not read that version.
    case unsupportedVersion(schema: String, found: Int?, supported: Int)
    /// The JSON does not match the contract; `path` names the field.
    case invalid(path: String, reason: String)
    /// The body is longer than the consumer reads (checked before parsing).
    case tooLarge(bytes: Int, maximum: Int)

    /// A short machine-readable code, used in dead-letter headers and metrics labels.
    public var code: String {
        switch self {
        case .notJSON: "not_json"
        case .wrongSchema: "wrong_schema"
        case .unsupportedVersion: "unsupported_version"
        case .invalid: "invalid"
        case .tooLarge: "too_large"
        }
    }

    public var description: String {
        switch self {
        case .notJSON: "the body is not a JSON object"
        case .tooLarge(let bytes, let maximum): "the body has \(bytes) bytes, more than the \(maximum) this service reads"
        case .wrongSchema(let expected, let found): "expected schema \(expected), found \(found ?? "none")"
        case .unsupportedVersion(let schema, let found, let supported):
            "\(schema) version \(found.map(String.init) ?? "none") is not supported (this service reads version \(supported))"
        case .invalid(let path, let reason): "\(path): \(reason)"
        }
    }
}

/// JSON encoding and decoding for wire messages, with the project's date format
/// (RFC 3339 with milliseconds, UTC).
public enum WireCodec {
    public static func encode<M: WireMessage>(_ message: M) -> [UInt8] {
        message.wireBytes()
    }

    public static func decode<M: WireMessage>(_ type: M.Type, from body: [UInt8]) -> Result<M, WireDecodingProblem> {
        M.decode(wire: body)
    }

    /// For hand-read messages: the body's members once it is a JSON object of the right schema and version.
    static func header<M: WireMessage>(
        of body: [UInt8], expecting: M.Type, maximumValues: Int = JSONReader.defaultMaximumValues
    ) -> Result<[String: JSONValue], WireDecodingProblem> {
        guard case .object(let object)? = JSONReader.parse(body, maximumValues: maximumValues) else { return .failure(.notJSON) }
        let schema: String?
        switch object["schema"] {
        case nil, .null?: schema = nil
        case .string(let text)?: schema = text
        default: return .failure(.notJSON)
        }
        guard schema == M.schema else { return .failure(.wrongSchema(expected: M.schema, found: schema)) }
        let version: Int?
        switch object["version"] {
        case nil, .null?: version = nil
        case .number(let number)?: version = Int(exactly: number)
        default: return .failure(.notJSON)
        }
        guard version == M.version else {
            return .failure(.unsupportedVersion(schema: M.schema, found: version, supported: M.version))
        }
        return .success(object)
    }

    static func encodeWithFoundation<M: WireMessage & Encodable>(_ message: M) -> [UInt8] {
        // Encoding our own value types cannot fail: they hold only strings, numbers, dates and arrays.
        try! [UInt8](encoder.encode(message))
    }

    static func decodeWithFoundation<M: WireMessage & Decodable>(_ type: M.Type, from body: [UInt8]) -> Result<M, WireDecodingProblem> {
        let data = Data(body)
        let header: Header
        do {
            header = try decoder.decode(Header.self, from: data)
        } catch {
            return .failure(.notJSON)
        }
        guard header.schema == M.schema else {
            return .failure(.wrongSchema(expected: M.schema, found: header.schema))
        }
        guard header.version == M.version else {
            return .failure(.unsupportedVersion(schema: M.schema, found: header.version, supported: M.version))
        }
        do {
            return .success(try decoder.decode(M.self, from: data))
        } catch let error as DecodingError {
            return .failure(Self.problem(from: error))
        } catch {
            return .failure(.invalid(path: "", reason: "\(error)"))
        }
    }

    /// Turns a `DecodingError` into a problem that names the field but never echoes a value.
    public static func problem(from error: DecodingError) -> WireDecodingProblem {
        func path(_ keys: [any CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .invalid(path: path(context.codingPath + [key]), reason: "is required")
        case .typeMismatch(let type, let context):
            return .invalid(path: path(context.codingPath), reason: "must be \(Self.typeName(type))")
        case .valueNotFound(let type, let context):
            return .invalid(path: path(context.codingPath), reason: "must be \(Self.typeName(type)), not null")
        case .dataCorrupted(let context):
            return .invalid(path: path(context.codingPath), reason: context.debugDescription)
        @unknown default:
            return .invalid(path: "", reason: "is malformed")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Int64.Type: "an integer"
        case is Date.Type: "an RFC 3339 timestamp"
        case is UUID.Type: "a UUID"
        default: type is any Collection.Type ? "an array" : "an object"
        }
    }

    private struct Header: Decodable {
        var schema: String?
        var version: Int?
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .rfc3339
        return encoder
    }()

    private static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .rfc3339
        return decoder
    }()
}
