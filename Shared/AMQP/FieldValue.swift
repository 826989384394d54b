/// A value of an AMQP field table (message headers, queue arguments), as far as Undersigned uses them.
public enum FieldValue: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int64)
    case bool(Bool)
    case double(Double)
    /// Seconds since 1970 (AMQP timestamp).
    case timestamp(UInt64)
    case bytes([UInt8])
    case table([String: FieldValue])
    case array([FieldValue])
    case void

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var intValue: Int64? {
        switch self {
        case .int(let value): value
        case .timestamp(let value): Int64(value)
        default: nil
        }
    }

    public var description: String {
        switch self {
        case .string(let value): value
        case .int(let value): String(value)
        case .bool(let value): String(value)
        case .double(let value): String(value)
        case .timestamp(let value): "@\(value)"
        case .bytes(let value): "<\(value.count) bytes>"
        case .table(let value):
            "{" + value.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        case .array(let value): "[" + value.map(\.description).joined(separator: ", ") + "]"
        case .void: "void"
        }
    }
}
