import Foundation

// Text helpers on the hot path of every signature. Foundation's `trimmingCharacters(in:)` and
// `precomposedStringWithCanonicalMapping` bridge through NSString on Linux and dominated intake's and
// dedup's profiles; these stay in native Swift and skip the work when there is nothing to do.

extension StringProtocol {
    /// Without leading and trailing white space (Unicode `White_Space`: spaces, tabs, newlines, NBSP, …).
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.isWhitespaceScalar }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.isWhitespaceScalar })!
        if first == scalars.startIndex && last == scalars.index(before: scalars.endIndex) { return String(self) }
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    /// True when every byte is ASCII (ASCII text is already in every Unicode normal form).
    public var isASCII: Bool {
        utf8.allSatisfy { $0 < 0x80 }
    }

    /// Unicode NFC (precomposed), as stored and compared.
    public func canonicalComposed() -> String {
        isASCII ? String(self) : String(self).precomposedStringWithCanonicalMapping
    }
}

extension Unicode.Scalar {
    /// Unicode `White_Space`, with the ASCII cases answered without a property lookup.
    @inlinable public var isWhitespaceScalar: Bool {
        if value < 0x80 { return value == 0x20 || (0x09...0x0D).contains(value) }
        return properties.isWhitespace
    }
}

extension UUID {
    /// Parses `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` (either case). Foundation's `UUID(uuidString:)` goes
    /// through `sscanf` on Linux, once per signature on the hot paths.
    public static func parse(_ text: String) -> UUID? {
        var text = text
        return text.withUTF8 { utf8 -> UUID? in
            guard utf8.count == 36 else { return nil }
            var bytes = [UInt8](repeating: 0, count: 16)
            var out = 0, i = 0
            while i < 36 {
                if i == 8 || i == 13 || i == 18 || i == 23 {
                    guard utf8[i] == UInt8(ascii: "-") else { return nil }
                    i += 1
                    continue
                }
                guard let high = hexDigit(utf8[i]), let low = hexDigit(utf8[i + 1]) else { return nil }
                bytes[out] = high << 4 | low
                out += 1
                i += 2
            }
            return bytes.withUnsafeBytes { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
        }
    }

    private static func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: c - 48
        case 97...102: c - 87
        case 65...70: c - 55
        default: nil
        }
    }

    /// A random (version 4) UUID from the system's generator. Foundation's `UUID()` on Linux opens
    /// `/dev/urandom` for each one, which showed in intake's profile.
    public static func random() -> UUID {
        var generator = SystemRandomNumberGenerator()
        var bytes = (generator.next() as UInt64, generator.next() as UInt64)
        return withUnsafeMutableBytes(of: &bytes) { raw in
            raw[6] = (raw[6] & 0x0F) | 0x40  // version 4
            raw[8] = (raw[8] & 0x3F) | 0x80  // RFC 4122 variant
            return UUID(uuid: raw.load(as: uuid_t.self))
        }
    }
}

extension Duration {
    /// The duration in seconds, with its fraction (for rates, SQL intervals and JSON).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal, two digits per byte (digests, signatures).
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension StringProtocol {
    /// Safe inside HTML text and quoted attributes: & < > " ' as character references.
    public var htmlEscaped: String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for character in self {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}

/// A CSV field for a person to open in a spreadsheet: quoted, quotes doubled, and a text that a
/// spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return)
/// given a leading apostrophe, so the office opening the file sees the text and runs nothing. (Delivery
/// packages apply the same rule in their `COPY`.)
public enum SpreadsheetCSV {
    public static func field(_ text: String) -> String {
        let safe = text.first.map { "=+-@\t\r".contains($0) } == true ? "'" + text : text
        return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
