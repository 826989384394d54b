import Foundation

/// What became of every signature a partner sent in one envelope (on the partner's receipt queue) or in
/// one batch (`GET /v1/partners/batches/{id}`, all envelopes of the batch together).
///
///     {"schema":"undersigned.partner-receipt","version":1,"partner":"acme","batch_id":"2026-11-29-a",
///      "envelope_id":"…","totals":{"rows":3,"accepted":1,"duplicate":1,"invalid":1},
///      "rows":[{"row":0,"status":"accepted"},{"row":1,"status":"duplicate"},
///              {"row":2,"status":"invalid","field":"email","reason":"must contain one @"}]}
///
/// `row` is the signature's row in the partner's batch: its index in the envelope plus the envelope's
/// `x-first-row` header (0 when absent); for HTTP batches, the line of the row in the file (the header is 1).
/// Carries no personal data.
public struct PartnerReceipt: WireMessage, Equatable {
    public static let schema = "undersigned.partner-receipt"
    public static let version = 1

    public enum Status: String, Sendable, Equatable {
        /// Taken: stored and counted (or already stored from an earlier delivery of the same submission), or
        /// the signer had signed through another channel, which a receipt does not reveal.
        case accepted
        /// The partner itself had already sent this signer for this petition: not counted again.
        case duplicate
        /// Not taken; `field` and `reason` say why.
        case invalid
    }

    public struct Row: Sendable, Equatable {
        public var row: Int
        public var status: Status
        public var field: String?
        public var reason: String?

        public init(row: Int, status: Status, field: String? = nil, reason: String? = nil) {
            self.row = row
            self.status = status
            self.field = field
            self.reason = reason
        }
    }

    public var partner: String
    public var batchID: String
    /// Set on a per-envelope receipt.
    public var envelopeID: UUID?
    /// Ordered by row.
    public var rows: [Row]
    /// For an HTTP batch: whether every row it took has its line here yet (dedup works through a batch
    /// in seconds; until then the receipt grows).
    public var complete: Bool?

    public init(partner: String, batchID: String, envelopeID: UUID? = nil, rows: [Row]) {
        self.partner = partner
        self.batchID = batchID
        self.envelopeID = envelopeID
        self.rows = rows.sorted { $0.row < $1.row }
    }

    public func count(_ status: Status) -> Int { rows.reduce(0) { $0 + ($1.status == status ? 1 : 0) } }

    public func wireBytes() -> [UInt8] {
        var json = JSONWriter(capacity: 160 + rows.count * 32)
        json.raw("{\"schema\":"); json.string(Self.schema)
        json.raw(",\"version\":"); json.int(Self.version)
        json.raw(",\"partner\":"); json.string(partner)
        json.raw(",\"batch_id\":"); json.string(batchID)
        if let envelopeID { json.raw(",\"envelope_id\":"); json.string(envelopeID.uuidString.lowercased()) }
        if let complete { json.raw(",\"complete\":"); json.bool(complete) }
        json.raw(",\"totals\":{\"rows\":"); json.int(rows.count)
        json.raw(",\"accepted\":"); json.int(count(.accepted))
        json.raw(",\"duplicate\":"); json.int(count(.duplicate))
        json.raw(",\"invalid\":"); json.int(count(.invalid))
        json.raw("},\"rows\":[")
        for (index, row) in rows.enumerated() {
            if index > 0 { json.raw(",") }
            json.raw("{\"row\":"); json.int(row.row)
            json.raw(",\"status\":"); json.string(row.status.rawValue)
            if let field = row.field { json.raw(",\"field\":"); json.string(field) }
            if let reason = row.reason { json.raw(",\"reason\":"); json.string(reason) }
            json.raw("}")
        }
        json.raw("]}")
        return json.bytes
    }

    public static func decode(wire body: [UInt8]) -> Result<PartnerReceipt, WireDecodingProblem> {
        let object: [String: JSONValue]
        do { object = try WireCodec.header(of: body, expecting: Self.self).get() } catch { return .failure(error) }
        guard case .string(let partner)? = object["partner"] else { return .failure(.invalid(path: "partner", reason: "must be a string")) }
        guard case .string(let batchID)? = object["batch_id"] else { return .failure(.invalid(path: "batch_id", reason: "must be a string")) }
        var envelopeID: UUID?
        if case .string(let text)? = object["envelope_id"] { envelopeID = UUID.parse(text) }
        guard case .array(let items)? = object["rows"] else { return .failure(.invalid(path: "rows", reason: "must be an array")) }
        var rows: [Row] = []
        for (index, item) in items.enumerated() {
            guard case .object(let row) = item, case .number(let number)? = row["row"], let at = Int(exactly: number),
                case .string(let statusText)? = row["status"], let status = Status(rawValue: statusText)
            else { return .failure(.invalid(path: "rows[\(index)]", reason: "must have a row number and a status")) }
            var field: String?, reason: String?
            if case .string(let text)? = row["field"] { field = text }
            if case .string(let text)? = row["reason"] { reason = text }
            rows.append(Row(row: at, status: status, field: field, reason: reason))
        }
        var receipt = PartnerReceipt(partner: partner, batchID: batchID, envelopeID: envelopeID, rows: rows)
        if case .bool(let complete)? = object["complete"] { receipt.complete = complete }
        return .success(receipt)
    }
}
