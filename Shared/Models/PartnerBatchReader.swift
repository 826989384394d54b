import Foundation

/// The rows of a partner batch (CSV with a header row, NDJSON, or a JSON array), read as bytes arrive:
/// each a record, or, when it cannot be read at all, its row number and why. Intake streams an upload
/// through it and `undersigned push` a whole file, so a file is read the same way by both paths. CSV rows
/// are numbered as in a spreadsheet (the header is row 1); JSON rows from 1.
public struct PartnerBatchReader: Sendable {
    public enum Format: String, Sendable {
        case csv, ndjson, json

        /// A file's format by its first significant byte: `{` NDJSON, `[` a JSON array, anything else CSV.
        public init(sniffing bytes: some Sequence<UInt8>) {
            let first = bytes.first { ![0x20, 0x0A, 0x0D, 0x09, 0xEF, 0xBB, 0xBF].contains($0) }
            self = first == UInt8(ascii: "{") ? .ndjson : first == UInt8(ascii: "[") ? .json : .csv
        }

        public var contentType: String {
            switch self {
            case .csv: "text/csv"
            case .ndjson: "application/x-ndjson"
            case .json: "application/json"
            }
        }
    }

    public enum Item: Sendable {
        case record(row: Int, PartnerRecord)
        case malformed(row: Int, reason: String)
    }

    /// Bytes one row may have (a CSV record, an NDJSON line, a JSON element): a signature is a few hundred.
    /// A longer row is reported as unreadable and none of it is kept, so a 60 MiB cell costs nothing.
    public static let maximumRowBytes = 16 * 1024
    static let tooLong = "is longer than \(maximumRowBytes / 1024) KiB"

    public let format: Format
    private var csv = CSVParser()
    private var header: [String]?
    private var recordNumber = 0
    private var line: [UInt8] = []
    private var lineBytes = 0
    private var array = JSONArraySplitter()

    public init(format: Format) {
        self.format = format
    }

    /// Every row of a whole file, its format sniffed.
    public static func read(_ bytes: [UInt8]) throws(ValidationProblem) -> [Item] {
        var reader = PartnerBatchReader(format: Format(sniffing: bytes))
        return try reader.feed(bytes) + reader.finish()
    }

    public mutating func feed(_ bytes: some Collection<UInt8>) throws(ValidationProblem) -> [Item] {
        switch format {
        case .csv: return try records(csv.rows(bytes))
        case .json:
            var items: [Item] = []
            for element in try array.elements(bytes) { items.append(json(element)) }
            return items
        case .ndjson:
            var items: [Item] = []
            for byte in bytes {
                if byte == UInt8(ascii: "\n") {
                    recordNumber += 1
                    if let item = ndjsonLine() { items.append(item) }
                    line.removeAll(keepingCapacity: lineBytes <= Self.maximumRowBytes)
                    lineBytes = 0
                } else {
                    lineBytes += 1
                    if lineBytes <= Self.maximumRowBytes { line.append(byte) } else if !line.isEmpty { line.removeAll() }
                }
            }
            return items
        }
    }

    public mutating func finish() throws(ValidationProblem) -> [Item] {
        switch format {
        case .csv:
            let items = try records(try csv.finishRows())
            guard header != nil else { throw ValidationProblem(field: "body", reason: "is empty: a CSV batch needs a header row") }
            return items
        case .json:
            guard array.closed else { throw ValidationProblem(field: "body", reason: "the JSON array is not closed") }
            return []
        case .ndjson:
            recordNumber += 1
            return ndjsonLine().map { [$0] } ?? []
        }
    }

    /// CSV rows are numbered as in a spreadsheet: the header is row 1.
    private mutating func records(_ rows: [CSVParser.Row]) throws(ValidationProblem) -> [Item] {
        var items: [Item] = []
        for row in rows {
            recordNumber += 1
            guard case .fields(let values) = row else {
                if header == nil { throw ValidationProblem(field: "body", reason: "the header row \(Self.tooLong)") }
                items.append(.malformed(row: recordNumber, reason: Self.tooLong))
                continue
            }
            guard let header else {
                guard values.contains(where: { $0.trimmingWhitespace().lowercased() == "email" }) else {
                    throw ValidationProblem(field: "body", reason: "the first CSV row must name the columns (name, email, country, …)")
                }
                header = values
                continue
            }
            items.append(values.count == header.count
                ? .record(row: recordNumber, PartnerRecord(header: header, values: values))
                : .malformed(row: recordNumber, reason: "has \(values.count) fields, the header has \(header.count)"))
        }
        return items
    }

    private func ndjsonLine() -> Item? {
        if lineBytes > Self.maximumRowBytes { return .malformed(row: recordNumber, reason: Self.tooLong) }
        guard line.contains(where: { $0 != 0x20 && $0 != 0x0D && $0 != 0x09 }) else { return nil }
        return parse(line, row: recordNumber)
    }

    private mutating func json(_ element: JSONArraySplitter.Element) -> Item {
        recordNumber += 1
        guard case .bytes(let bytes) = element else { return .malformed(row: recordNumber, reason: Self.tooLong) }
        return parse(bytes, row: recordNumber)
    }

    private func parse(_ bytes: [UInt8], row: Int) -> Item {
        guard let value = JSONReader.parse(bytes) else { return .malformed(row: row, reason: "is not JSON") }
        do {
            return .record(row: row, try PartnerRecord(json: value))
        } catch {
            return .malformed(row: row, reason: error.reason)
        }
    }
}
