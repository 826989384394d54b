import Foundation
import Models
import Testing

@testable import Dedup

@Suite("Partner receipts from a batch")
struct PartnerReceiptsTests {
    static let shared = UUID()

    func row(_ partner: String, position: Int, envelope: UUID = shared) -> SignatureRow {
        SignatureRow(
            signature: Signature(
                submissionID: UUID(), petition: "p", name: "n", email: "e@example.org", country: "DE", source: "partner:\(partner)", signedAt: Date()),
            signerKey: SignerKey(bytes: Array(repeating: 0, count: 32)), partner: partner, envelopeID: envelope, position: position)
    }

    func accepted(_ rows: [SignatureRow]) -> BatchOutcome {
        BatchOutcome(
            accepted: rows.enumerated().map { index, row in
                SignatureAccepted(
                    signatureID: Int64(index), submissionID: row.signature.submissionID, petition: "p", country: "DE", source: "web",
                    signedAt: Date(), acceptedAt: Date())
            },
            newCount: rows.count, redeliveredCount: 0, duplicateCount: 0, unknownPetition: [], rejectedCount: 0)
    }

    func envelope(_ partner: String, total: Int, firstRow: Int = 0) -> PartnerEnvelope {
        PartnerEnvelope(envelopeID: Self.shared, partner: partner, batchID: "batch-\(partner)", firstRow: firstRow, total: total)
    }

    @Test func twoPartnersSendingOneEnvelopeIdInOneBatchGetTheirOwnRows() {
        let rows = [row("alpha", position: 0), row("beta", position: 1), row("beta", position: 2)]
        let rejected = [
            RejectedRow(envelopeID: Self.shared, position: 1, problem: ValidationProblem(field: "email", reason: "must contain one @"), partner: "alpha"),
            RejectedRow(envelopeID: Self.shared, position: 0, problem: ValidationProblem(field: "country", reason: "unknown"), partner: "beta"),
        ]
        let receipts = PartnerEnvelope.receipts(
            [envelope("alpha", total: 2, firstRow: 1), envelope("beta", total: 3)], rows: rows, rejected: rejected, outcome: accepted(rows))
        #expect(receipts.count == 2)
        let alpha = receipts[0].receipt, beta = receipts[1].receipt
        #expect(alpha.partner == "alpha" && beta.partner == "beta")
        #expect(alpha.rows.map(\.row).sorted() == [1, 2], "positions moved by alpha's first row")
        #expect(alpha.count(.accepted) == 1 && alpha.count(.invalid) == 1 && alpha.rows.first { $0.status == .invalid }?.field == "email")
        #expect(beta.rows.map(\.row).sorted() == [0, 1, 2])
        #expect(beta.count(.accepted) == 2 && beta.count(.invalid) == 1 && beta.rows.first { $0.status == .invalid }?.field == "country")
    }

    @Test func anEnvelopeThatArrivesTwiceInOneBatchHasOneReceiptWithEachRowOnce() {
        let first = [row("alpha", position: 0), row("alpha", position: 1)]
        let again = first  // the same signatures, published again
        let receipts = PartnerEnvelope.receipts(
            [envelope("alpha", total: 2), envelope("alpha", total: 2)], rows: first + again, rejected: [], outcome: accepted(first))
        #expect(receipts.count == 1)
        #expect(receipts[0].receipt.rows.map(\.row).sorted() == [0, 1])
        #expect(receipts[0].receipt.count(.accepted) == 2)
    }

    @Test("a row whose signer signed elsewhere reads accepted, as a public signature would; only the partner's own repeats are duplicates")
    func signedElsewhereIsNotRevealed() {
        let rows = [row("alpha", position: 0), row("alpha", position: 1), row("alpha", position: 2)]
        var outcome = accepted([rows[0]])
        outcome.signedElsewhere = [rows[1].signature.submissionID]  // signed on the web (or with another partner) before
        let receipt = PartnerEnvelope.receipts([envelope("alpha", total: 3)], rows: rows, rejected: [], outcome: outcome)[0].receipt
        #expect(receipt.rows.sorted { $0.row < $1.row }.map(\.status) == [.accepted, .accepted, .duplicate])
    }

    @Test func rowsOfIntakesOwnEnvelopesAreInNoReceipt() {
        var web = row("alpha", position: 0, envelope: UUID())
        web.partner = nil
        let receipts = PartnerEnvelope.receipts([envelope("alpha", total: 0)], rows: [web], rejected: [], outcome: accepted([web]))
        #expect(receipts.count == 1 && receipts[0].receipt.rows.isEmpty)
    }
}
