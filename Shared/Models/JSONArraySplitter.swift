import Foundation

/// The elements of a top-level JSON array, cut out as they come (each then read with `JSONReader`), so
/// that a large array is never held whole.
public struct JSONArraySplitter: Sendable {
    /// An element's bytes, or an element longer than the limit (its bytes were not kept).
    public enum Element: Sendable, Equatable {
        case bytes([UInt8])
        case tooLong
    }

    /// Bytes an element may have; past it the element is read to its end without keeping anything.
    public let maximumElementBytes: Int
    private var elementBytes = 0
    private var element: [UInt8] = []
    private var depth = 0  // 1 inside the top-level array
    private var inString = false
    private var escaped = false
    private var opened = false
    public private(set) var closed = false

    public init(maximumElementBytes: Int = PartnerBatchReader.maximumRowBytes) {
        self.maximumElementBytes = maximumElementBytes
    }

    /// The elements completed by `bytes` (one over the limit as an empty one); throws when the text is not an array.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(ValidationProblem) -> [[UInt8]] {
        try elements(bytes).map { if case .bytes(let bytes) = $0 { bytes } else { [] } }
    }

    /// The elements completed by `bytes`; throws when the text is not an array.
    public mutating func elements(_ bytes: some Sequence<UInt8>) throws(ValidationProblem) -> [Element] {
        var elements: [Element] = []
        func complete() {
            elements.append(elementBytes > maximumElementBytes ? .tooLong : .bytes(element))
            element.removeAll(keepingCapacity: elementBytes <= maximumElementBytes)
            elementBytes = 0
        }
        func keep(_ byte: UInt8) {
            elementBytes += 1
            if elementBytes <= maximumElementBytes { element.append(byte) } else if !element.isEmpty { element.removeAll() }
        }
        for byte in bytes {
            if closed {
                guard Self.isSpace(byte) else { throw ValidationProblem(field: "body", reason: "has text after the closing ]") }
                continue
            }
            if !opened {
                if Self.isSpace(byte) || byte == 0xEF || byte == 0xBB || byte == 0xBF { continue }
                guard byte == UInt8(ascii: "[") else { throw ValidationProblem(field: "body", reason: "must be a JSON array of rows") }
                opened = true
                depth = 1
                continue
            }
            if inString {
                keep(byte)
                if escaped { escaped = false } else if byte == UInt8(ascii: "\\") { escaped = true } else if byte == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                inString = true
                keep(byte)
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                keep(byte)
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
                if depth == 0 {
                    closed = true
                    if elementBytes > maximumElementBytes || element.contains(where: { !Self.isSpace($0) }) { complete() }
                    element.removeAll()
                    elementBytes = 0
                } else {
                    keep(byte)
                }
            case UInt8(ascii: ",") where depth == 1:
                complete()
            default:
                keep(byte)
            }
        }
        return elements
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09
    }
}
