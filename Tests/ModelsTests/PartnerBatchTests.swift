import Foundation
import Models
import Testing

@Suite("Partner batches: CSV, JSON arrays, rows, envelopes, receipts")
struct PartnerBatchTests {
    static let csv = "\u{FEFF}name,email,country\r\n\"Müller, Zoë\",zoe@example.org,DE\r\n\"O\"\"Brien\",\"a\nb@example.org\",IE\r\n\r\nLast,last@example.org,FR"

    static func parseWhole(_ text: String) throws -> [[String]] {
        var parser = CSVParser()
        return try parser.feed(Array(text.utf8)) + parser.finish()
    }

    @Test("quoted commas, doubled quotes, line breaks in quotes, CRLF, a byte-order mark, blank lines, no final newline")
    func csvRecords() throws {
        #expect(try Self.parseWhole(Self.csv) == [
            ["name", "email", "country"], ["Müller, Zoë", "zoe@example.org", "DE"], ["O\"Brien", "a\nb@example.org", "IE"],
            ["Last", "last@example.org", "FR"],
        ])
    }

    @Test("fed in pieces of any size, CSV gives the same records", arguments: [1, 2, 3, 5, 7, 64])
    func csvInPieces(size: Int) throws {
        let bytes = Array(Self.csv.utf8)
        var parser = CSVParser()
        var records: [[String]] = []
        for start in stride(from: 0, to: bytes.count, by: size) { records += parser.feed(bytes[start..<min(start + size, bytes.count)]) }
        records += try parser.finish()
        #expect(records == (try Self.parseWhole(Self.csv)))
    }

    /// The rows a reader gives, fed `bytes` in pieces of `piece` bytes, as `row: status` lines.
    static func rows(_ text: String, as format: PartnerBatchReader.Format, piece: Int) throws -> [String] {
        var reader = PartnerBatchReader(format: format)
        let bytes = Array(text.utf8)
        var items: [PartnerBatchReader.Item] = []
        for start in stride(from: 0, to: bytes.count, by: piece) { items += try reader.feed(bytes[start..<min(start + piece, bytes.count)]) }
        items += try reader.finish()
        return items.map { item in
            switch item {
            case .record(let row, let record): "\(row): \(record.fields["email"] ?? "-")"
            case .malformed(let row, let reason): "\(row): unreadable, \(reason)"
            }
        }
    }

    @Test("one reader for uploads and push: the same rows and row numbers from CSV, NDJSON and a JSON array, in any pieces",
          arguments: [1, 3, 64, 4096])
    func readerFormats(piece: Int) throws {
        let csv = "\u{FEFF}name,email,country\nAda,ada@example.org,GB\nBad,row\nGrace,grace@example.org,US\n"
        #expect(try Self.rows(csv, as: .csv, piece: piece) == [
            "2: ada@example.org", "3: unreadable, has 2 fields, the header has 3", "4: grace@example.org",
        ])
        let ndjson = "{\"email\":\"ada@example.org\"}\n\t\n{not json}\r\n{\"person\":{\"email_addresses\":[{\"address\":\"grace@example.org\"}]}}"
        #expect(try Self.rows(ndjson, as: .ndjson, piece: piece) == ["1: ada@example.org", "3: unreadable, is not JSON", "4: grace@example.org"])
        let array = "[{\"email\":\"ada@example.org\"}, 7, {\"email\":\"grace@example.org\"}]"
        #expect(try Self.rows(array, as: .json, piece: piece) == ["1: ada@example.org", "2: unreadable, must be a JSON object", "3: grace@example.org"])
    }

    @Test("a row longer than 16 KiB (a 1 MiB cell, line or element) is unreadable, its neighbours are read, nothing of it is kept",
          arguments: [7, 4096, 1 << 20])
    func oversizedRows(piece: Int) throws {
        let huge = String(repeating: "x", count: 1 << 20)
        let csv = "name,email,country\nAda,ada@example.org,GB\n\"\(huge)\",big@example.org,FR\nGrace,grace@example.org,US\n"
        #expect(try Self.rows(csv, as: .csv, piece: piece) == ["2: ada@example.org", "3: unreadable, is longer than 16 KiB", "4: grace@example.org"])
        let ndjson = "{\"email\":\"ada@example.org\"}\n{\"name\":\"\(huge)\"}\n{\"email\":\"grace@example.org\"}"
        #expect(try Self.rows(ndjson, as: .ndjson, piece: piece) == ["1: ada@example.org", "2: unreadable, is longer than 16 KiB", "3: grace@example.org"])
        let array = "[{\"email\":\"ada@example.org\"},{\"name\":[\"\(huge)\", {\"a\":\"]\"}]},{\"email\":\"grace@example.org\"}]"
        #expect(try Self.rows(array, as: .json, piece: piece) == ["1: ada@example.org", "2: unreadable, is longer than 16 KiB", "3: grace@example.org"])
        #expect(throws: ValidationProblem.self) { try PartnerBatchReader.read(Array("\(huge),email\nAda,a@example.org\n".utf8)) }
    }

    @Test("a file's format is sniffed from its first significant byte, and a file without its header row is refused")
    func readerSniffsAndRefuses() throws {
        #expect(PartnerBatchReader.Format(sniffing: Array("\u{FEFF} \n[{}]".utf8)) == .json)
        #expect(PartnerBatchReader.Format(sniffing: Array("\r\n{\"a\":1}".utf8)) == .ndjson)
        #expect(PartnerBatchReader.Format(sniffing: Array("\u{FEFF}name,email".utf8)) == .csv)
        #expect(try PartnerBatchReader.read(Array("[{\"email\":\"a@example.org\"}]".utf8)).count == 1)
        #expect(throws: ValidationProblem.self) { try PartnerBatchReader.read(Array("ada,ada@example.org,GB\n".utf8)) }
        #expect(throws: ValidationProblem.self) { try PartnerBatchReader.read(Array("[{\"email\":\"a@example.org\"}".utf8)) }
        #expect(throws: ValidationProblem.self) { try PartnerBatchReader.read([]) }
    }

    @Test func unterminatedQuoteIsAnError() {
        var parser = CSVParser()
        _ = parser.feed(Array("a,\"b\n".utf8))
        #expect(throws: ValidationProblem.self) { try parser.finish() }
    }

    @Test("a JSON array is cut into its elements however it arrives")
    func jsonArray() throws {
        let text = #" [ {"name":"a, [b]","n":[1,2]} , {"e":"q\"}"} ,"x"] "#
        for size in [1, 3, 1000] {
            var splitter = JSONArraySplitter()
            var elements: [String] = []
            let bytes = Array(text.utf8)
            for start in stride(from: 0, to: bytes.count, by: size) {
                elements += try splitter.feed(bytes[start..<min(start + size, bytes.count)]).map { String(decoding: $0, as: UTF8.self) }
            }
            #expect(splitter.closed)
            #expect(elements.map { $0.trimmingCharacters(in: .whitespaces) } == [#"{"name":"a, [b]","n":[1,2]}"#, #"{"e":"q\"}"}"#, #""x""#])
        }
        var notArray = JSONArraySplitter()
        #expect(throws: ValidationProblem.self) { try notArray.feed(Array("{}".utf8)) }
    }

    @Test("rows become signatures with stable submission ids, counted under the partner")
    func rowsToSignatures() throws {
        let record = PartnerRecord(header: ["Name", " EMAIL ", "country", "contact_opt_in"], values: ["  Ada ", "ada@example.org", "gb", "Yes"])
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let signature = record.signature(partner: "acme", petition: "p", batchKey: "b", row: 2, now: now)
        #expect(signature.name == "Ada" && signature.email == "ada@example.org" && signature.contactOptIn)
        #expect(signature.source == "partner:acme" && signature.petition == "p" && signature.signedAt == now)
        #expect(signature.submissionID == record.signature(partner: "acme", petition: "p", batchKey: "b", row: 2, now: now).submissionID)
        #expect(signature.submissionID != record.signature(partner: "acme", petition: "p", batchKey: "b", row: 3, now: now).submissionID)
        #expect(signature.submissionID != record.signature(partner: "beta", petition: "p", batchKey: "b", row: 2, now: now).submissionID)
        let osdi = try PartnerRecord(json: JSONReader.parse(Array(#"{"person":{"given_name":"Wangari","family_name":"Maathai","email_addresses":[{"address":"w@example.org"}],"postal_addresses":[{"country":"KE","postal_code":"00100"}]}}"#.utf8))!)
        let fromOSDI = osdi.signature(partner: "acme", petition: "p", batchKey: "b", row: 1, now: now)
        #expect(fromOSDI.name == "Wangari Maathai" && fromOSDI.email == "w@example.org" && fromOSDI.country == "KE" && fromOSDI.postalCode == "00100")
    }

    @Test("envelopes hold contiguous rows: full ones close, and a gap closes one")
    func envelopes() {
        var assembler = PartnerEnvelopeAssembler(partner: "acme", petition: "p", batchID: "b", size: 3)
        let record = PartnerRecord(fields: ["name": "A", "email": "a@example.org", "country": "FR"])
        var closed: [PartnerEnvelopeAssembler.Assembled] = []
        for row in [2, 3, 4, 5, 7, 8] { if let envelope = assembler.add(row: row, record) { closed.append(envelope) } }
        if let last = assembler.close() { closed.append(last) }
        #expect(closed.map(\.firstRow) == [2, 5, 7])
        #expect(closed.map(\.count) == [3, 1, 2])
        #expect(closed[0].id == Envelope.partnerEnvelopeID(partner: "acme", batchID: "b", firstRow: 2))
    }

    @Test("a receipt reads back as written, and carries no personal data")
    func receiptRoundTrip() throws {
        var receipt = PartnerReceipt(partner: "acme", batchID: "b-1", envelopeID: UUID.random(), rows: [
            .init(row: 3, status: .invalid, field: "email", reason: "must be an address like name@example.org"),
            .init(row: 1, status: .accepted), .init(row: 2, status: .duplicate),
        ])
        receipt.complete = true
        let decoded = try PartnerReceipt.decode(wire: receipt.wireBytes()).get()
        #expect(decoded == receipt)
        #expect(decoded.rows.map(\.row) == [1, 2, 3])
        let json = try JSONSerialization.jsonObject(with: Data(receipt.wireBytes())) as! [String: Any]
        #expect(json["totals"] as? [String: Int] == ["rows": 3, "accepted": 1, "duplicate": 1, "invalid": 1])
    }
}
