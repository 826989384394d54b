import Foundation

/// RFC 4180 CSV read incrementally: feed bytes as they come, take the complete records. Quoted fields
/// may hold commas, doubled quotes and line breaks; a UTF-8 byte-order mark is skipped; CRLF or LF.
public struct CSVParser: Sendable {
    /// A record, or one longer than the parser's limit (its bytes were not kept).
    public enum Row: Sendable, Equatable {
        case fields([String])
        case tooLong
    }

    /// Bytes a record may have; past it the record is read to its end without keeping anything.
    public let maximumRecordBytes: Int
    private var recordBytes = 0
    private var field: [UInt8] = []
    private var record: [String] = []
    private var quoted = false
    private var quoteSeen = false  // a quote inside a quoted field: the end, or the first of a doubled quote
    private var atFieldStart = true
    private var records: [Row] = []
    /// The first bytes, until it is known whether they are a byte-order mark.
    private var head: [UInt8]? = []

    public init(maximumRecordBytes: Int = PartnerBatchReader.maximumRowBytes) {
        self.maximumRecordBytes = maximumRecordBytes
    }

    /// The records completed by `bytes` (a record over the limit as an empty one).
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [[String]] {
        rows(bytes).map { if case .fields(let fields) = $0 { fields } else { [] } }
    }

    /// The records completed by `bytes`.
    public mutating func rows(_ bytes: some Sequence<UInt8>) -> [Row] {
        for byte in bytes {
            if var pending = head {
                pending.append(byte)
                if [0xEF, 0xBB, 0xBF].starts(with: pending) {
                    head = pending.count == 3 ? nil : pending
                    continue
                }
                head = nil
                for early in pending { take(early) }
                continue
            }
            take(byte)
        }
        defer { records.removeAll(keepingCapacity: true) }
        return records
    }

    private mutating func take(_ byte: UInt8) {
        recordBytes += 1
        if quoted {
            if quoteSeen {
                quoteSeen = false
                if byte == UInt8(ascii: "\"") { keep(byte); return }
                quoted = false  // that was the closing quote; this byte follows the field
            } else if byte == UInt8(ascii: "\"") {
                quoteSeen = true
                return
            } else {
                keep(byte)
                return
            }
        }
        switch byte {
        case UInt8(ascii: "\"") where atFieldStart:
            quoted = true
            atFieldStart = false
        case UInt8(ascii: ","):
            endField()
        case UInt8(ascii: "\n"):
            if field.last == UInt8(ascii: "\r") { field.removeLast() }
            endField()
            if let row = endRecord() { records.append(row) }
        default:
            keep(byte)
            atFieldStart = false
        }
    }

    /// A byte of the field, unless the record is already over the limit (then nothing more is kept).
    private mutating func keep(_ byte: UInt8) {
        if recordBytes <= maximumRecordBytes { field.append(byte) } else if !field.isEmpty || !record.isEmpty {
            field.removeAll()
            record.removeAll()
        }
    }

    /// The last record (a file need not end with a line break); throws on an unterminated quoted field.
    public mutating func finish() throws(ValidationProblem) -> [[String]] {
        try finishRows().map { if case .fields(let fields) = $0 { fields } else { [] } }
    }

    public mutating func finishRows() throws(ValidationProblem) -> [Row] {
        if let pending = head {
            head = nil
            for early in pending { take(early) }
        }
        var done = records
        records.removeAll()
        if quoted && !quoteSeen { throw ValidationProblem(field: "body", reason: "a quoted field is not closed") }
        quoted = false
        quoteSeen = false
        if field.last == UInt8(ascii: "\r") { field.removeLast() }
        guard !field.isEmpty || !record.isEmpty || recordBytes > maximumRecordBytes else { return done }
        endField()
        if let row = endRecord() { done.append(row) }
        return done
    }

    private mutating func endField() {
        if recordBytes <= maximumRecordBytes { record.append(String(decoding: field, as: UTF8.self)) }
        field.removeAll(keepingCapacity: true)
        atFieldStart = true
    }

    /// The record just ended; nil for a blank line (skipped).
    private mutating func endRecord() -> Row? {
        defer {
            record.removeAll(keepingCapacity: true)
            recordBytes = 0
        }
        if recordBytes > maximumRecordBytes { return .tooLong }
        return record == [""] ? nil : .fields(record)
    }
}
