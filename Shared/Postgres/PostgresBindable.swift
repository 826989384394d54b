import Foundation

/// A Swift value that can be sent as a query parameter, in PostgreSQL's text format.
/// `nil` means SQL NULL. Cast parameters in SQL where the type is not obvious (`$1::bytea[]`).
public protocol PostgresBindable: Sendable {
    var postgresText: String? { get }
}

extension String: PostgresBindable {
    public var postgresText: String? { self }
}

extension Int: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int64: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Int32: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension Bool: PostgresBindable {
    public var postgresText: String? { self ? "t" : "f" }
}

extension Double: PostgresBindable {
    public var postgresText: String? { String(self) }
}

extension UUID: PostgresBindable {
    public var postgresText: String? { ByteA.hex(withUnsafeBytes(of: uuid) { Array($0) }, dashesForUUID: true) }
}

extension Date: PostgresBindable {
    /// RFC 3339 with microseconds, UTC.
    public var postgresText: String? {
        formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}

extension Optional: PostgresBindable where Wrapped: PostgresBindable {
    public var postgresText: String? { self?.postgresText }
}

/// Binary data as `bytea` (hex format).
public struct ByteA: PostgresBindable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var postgresText: String? { "\\x" + Self.hex(bytes) }

    static func hex(_ bytes: [UInt8], dashesForUUID: Bool = false) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2 + 4)
        for (index, byte) in bytes.enumerated() {
            if dashesForUUID && (index == 4 || index == 6 || index == 8 || index == 10) { out.append(UInt8(ascii: "-")) }
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `\x…` as PostgreSQL prints bytea in text format.
    public init?(postgresText text: String) {
        guard text.hasPrefix("\\x") else { return nil }
        let hex = Array(text.utf8.dropFirst(2))
        guard hex.count % 2 == 0 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var bytes = [UInt8]()
        bytes.reserveCapacity(hex.count / 2)
        var i = 0
        while i < hex.count {
            guard let hi = nibble(hex[i]), let lo = nibble(hex[i + 1]) else { return nil }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        self.bytes = bytes
    }
}

/// Arrays bind as PostgreSQL array literals (`{"a","b",NULL}`), for `unnest($1::text[])` batch statements.
extension Array: PostgresBindable where Element: PostgresBindable {
    /// Built byte by byte (quotes and backslashes are ASCII, so escaping UTF-8 bytes is exact): this runs
    /// for every row of every batch insert.
    public var postgresText: String? {
        var out = [UInt8]()
        out.reserveCapacity(count * 24 + 2)
        out.append(UInt8(ascii: "{"))
        for (index, element) in enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard var text = element.postgresText else {
                out.append(contentsOf: "NULL".utf8)
                continue
            }
            out.append(UInt8(ascii: "\""))
            text.withUTF8 { bytes in
                for byte in bytes {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
                    out.append(byte)
                }
            }
            out.append(UInt8(ascii: "\""))
        }
        out.append(UInt8(ascii: "}"))
        return String(decoding: out, as: UTF8.self)
    }
}
