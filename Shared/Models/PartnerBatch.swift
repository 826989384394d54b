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

/// One row of a partner's batch (a CSV record under its header, or an NDJSON / JSON-array object), as
/// field names and text values, and the envelope signature it becomes. Field names: `name` (or
/// `given_name` and `family_name`), `email`, `country`, `postal_code`, `contact_opt_in`, `petition`,
/// `signed_at`, `reference` (the partner's own id for the row). An OSDI record-signature-helper object
/// (`person.given_name`, `family_name`, `email_addresses[].address`, `postal_addresses[].country` and
/// `postal_code`) is read too.
public struct PartnerRecord: Sendable, Equatable {
    public var fields: [String: String]

    public init(fields: [String: String]) {
        self.fields = fields
    }

    /// A CSV record under `header` (names lower-cased and trimmed).
    public init(header: [String], values: [String]) {
        var fields: [String: String] = [:]
        for (name, value) in zip(header, values) { fields[name.trimmingWhitespace().lowercased()] = value }
        self.fields = fields
    }

    /// A JSON object: flat fields, or the OSDI shape. Throws when it is not an object.
    public init(json: JSONValue) throws(ValidationProblem) {
        guard case .object(var object) = json else { throw ValidationProblem(field: "row", reason: "must be a JSON object") }
        if case .object(let person)? = object["person"] { object.merge(person) { outer, _ in outer } }
        var fields: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case .string(let text): fields[key] = text
            case .bool(let flag): fields[key] = flag ? "true" : "false"
            case .number(let number): fields[key] = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            default: break
            }
        }
        if fields["email"] == nil, case .array(let addresses)? = object["email_addresses"] {
            let chosen = addresses.first { if case .object(let a) = $0, case .bool(true)? = a["primary"] { true } else { false } } ?? addresses.first
            if case .object(let address)? = chosen, case .string(let text)? = address["address"] { fields["email"] = text }
        }
        if case .array(let addresses)? = object["postal_addresses"], case .object(let address)? = addresses.first {
            if fields["country"] == nil, case .string(let text)? = address["country"] { fields["country"] = text }
            if fields["postal_code"] == nil, case .string(let text)? = address["postal_code"] { fields["postal_code"] = text }
        }
        self.fields = fields
    }

    /// The envelope signature for this row (not validated: dedup validates and reports each row). The
    /// submission id comes from the partner and its `reference`, or from `batchKey` and the row number, so
    /// sending the same row again is recognised as a redelivery.
    public func signature(partner: String, petition defaultPetition: String?, batchKey: String, row: Int, now: Date) -> Signature {
        func field(_ name: String) -> String? {
            guard let value = fields[name]?.trimmingWhitespace(), !value.isEmpty else { return nil }
            return value
        }
        let name = field("name") ?? [field("given_name"), field("family_name")].compactMap { $0 }.joined(separator: " ")
        let reference = field("reference") ?? "\(batchKey):\(row)"
        let optIn = ["true", "1", "yes", "on", "y"].contains(field("contact_opt_in")?.lowercased() ?? "")
        return Signature(
            submissionID: Signature.partnerSubmissionID(partner: partner, reference: reference),
            petition: field("petition") ?? defaultPetition ?? "", name: name, email: field("email") ?? "",
            country: field("country") ?? "", postalCode: field("postal_code"), contactOptIn: optIn,
            // A row typed in from a paper form says so (`source: paper`); dedup records it as `paper:PARTNER`.
            source: field("source")?.lowercased() == "paper" ? "paper" : "partner:" + partner,
            signedAt: field("signed_at").flatMap(Timestamp.parse) ?? now)
    }
}

extension Envelope {
    /// The id of a partner's envelope starting at `firstRow` of batch `batchID`: the same every time the
    /// same rows are sent, so a resumed push is recognised (and its receipt kept once).
    public static func partnerEnvelopeID(partner: String, batchID: String, firstRow: Int) -> UUID {
        NameBasedUUID.make(namespace: "undersigned.partner-envelope", name: "\(partner)\u{0}\(batchID)\u{0}\(firstRow)")
    }
}

/// Groups a partner batch's rows into envelopes of contiguous rows, as they come: an envelope closes when
/// full or when the next row does not follow (an unreadable row in between), so that each envelope's rows
/// are its first row plus the position, as receipts number them.
public struct PartnerEnvelopeAssembler: Sendable {
    public struct Assembled: Sendable {
        public var id: UUID
        public var firstRow: Int
        public var count: Int
        public var body: [UInt8]
    }

    public let partner: String
    public let petition: String?
    public let batchID: String
    public let size: Int
    public let now: Date
    private var current: [Signature] = []
    private var firstRow = 0
    private var lastRow = 0

    public init(partner: String, petition: String?, batchID: String, size: Int, now: Date = Date()) {
        self.partner = partner
        self.petition = petition
        self.batchID = batchID
        self.size = max(1, min(size, Envelope.maximumSignatures))
        self.now = now
    }

    /// Adds a row; returns the envelope it closed, if any.
    public mutating func add(row: Int, _ record: PartnerRecord) -> Assembled? {
        var closed: Assembled?
        if current.count == size || (!current.isEmpty && row != lastRow + 1) { closed = close() }
        if current.isEmpty { firstRow = row }
        current.append(record.signature(partner: partner, petition: petition, batchKey: batchID, row: row, now: now))
        lastRow = row
        return closed
    }

    /// The last envelope, if rows are waiting.
    public mutating func close() -> Assembled? {
        guard !current.isEmpty else { return nil }
        let id = Envelope.partnerEnvelopeID(partner: partner, batchID: batchID, firstRow: firstRow)
        let assembled = Assembled(id: id, firstRow: firstRow, count: current.count,
                                  body: WireCodec.encode(Envelope(envelopeID: id, sentAt: now, signatures: current)))
        current.removeAll(keepingCapacity: true)
        return assembled
    }
}

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
