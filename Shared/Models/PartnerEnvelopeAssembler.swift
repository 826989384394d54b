import Foundation

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
