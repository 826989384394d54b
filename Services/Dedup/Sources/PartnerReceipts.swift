import Foundation
import Models
import Postgres

/// A partner envelope in a batch: enough to say what became of each of its signatures.
struct PartnerEnvelope: Sendable {
    var envelopeID: UUID
    /// The broker-validated login.
    var partner: String
    /// The message's `message_id` (the partner's batch id), or the envelope id.
    var batchID: String
    /// Added to positions to give the rows of the partner's batch (`x-first-row` header).
    var firstRow: Int
    /// Signatures in the envelope as sent, valid or not.
    var total: Int

    private struct Key: Hashable {
        var partner: String
        var envelopeID: UUID
    }

    /// One receipt per envelope, from what the batch did: a row is accepted when its submission is among
    /// the accepted events (new or redelivered) or its signer signed through another channel (a receipt
    /// must not tell a partner who signed elsewhere), invalid when rejected (with the reason; an unknown
    /// or closed petition is rejected by the store), else a duplicate of the partner's own rows.
    static func receipts(
        _ envelopes: [PartnerEnvelope], rows: [SignatureRow], rejected: [RejectedRow], outcome: BatchOutcome
    ) -> [(envelope: PartnerEnvelope, receipt: PartnerReceipt)] {
        guard !envelopes.isEmpty else { return [] }
        // Erased signers too: the receipt must not tell that someone asked to be erased.
        let accepted = Set(outcome.accepted.map(\.submissionID)).union(outcome.heldForVerification).union(outcome.signedElsewhere)
            .union(outcome.erased)
        let refused = outcome.petitionRefusals
        // Keyed by partner too: envelope ids are the partners' choice, and two may send the same one.
        var byEnvelope: [Key: [PartnerReceipt.Row]] = [:]
        for row in rows {
            guard let partner = row.partner else { continue }
            let submission = row.signature.submissionID
            let status: PartnerReceipt.Row
            if let problem = refused[submission] {
                status = .init(row: row.position, status: .invalid, field: problem.field, reason: problem.reason)
            } else {
                status = .init(row: row.position, status: accepted.contains(submission) ? .accepted : .duplicate)
            }
            byEnvelope[Key(partner: partner, envelopeID: row.envelopeID), default: []].append(status)
        }
        for row in rejected {
            guard let partner = row.partner else { continue }
            byEnvelope[Key(partner: partner, envelopeID: row.envelopeID), default: []]
                .append(.init(row: row.position, status: .invalid, field: row.problem.field, reason: row.problem.reason))
        }
        // An envelope published twice in quick succession (a partner's retry after a lost confirm) can
        // arrive twice in one batch: one receipt, each row once.
        var seen = Set<Key>()
        return envelopes.filter { seen.insert(Key(partner: $0.partner, envelopeID: $0.envelopeID)).inserted }.map { envelope in
            var positions = Set<Int>()
            let rows = (byEnvelope[Key(partner: envelope.partner, envelopeID: envelope.envelopeID)] ?? [])
                .filter { positions.insert($0.row).inserted }
                .map { row in
                    var row = row
                    row.row += envelope.firstRow
                    return row
                }
            return (envelope, PartnerReceipt(partner: envelope.partner, batchID: envelope.batchID, envelopeID: envelope.envelopeID, rows: rows))
        }
    }
}

extension SignatureStore {
    /// Keeps each envelope's receipt, per partner (a redelivered envelope keeps the first). Positions are stored
    /// relative to the envelope, like those of `rejected_signatures`.
    static func record(_ receipts: [(envelope: PartnerEnvelope, receipt: PartnerReceipt)], on connection: PostgresConnection) throws {
        for (envelope, receipt) in receipts {
            func positions(_ status: PartnerReceipt.Status) -> [Int] {
                receipt.rows.filter { $0.status == status }.map { $0.row - envelope.firstRow }
            }
            try connection.query("""
                INSERT INTO partner_receipts (envelope_id, partner, batch_id, first_row, total, accepted, duplicate)
                VALUES (\(envelope.envelopeID), \(envelope.partner), \(envelope.batchID), \(envelope.firstRow), \(envelope.total),
                        \(positions(.accepted))::integer[], \(positions(.duplicate))::integer[])
                ON CONFLICT (partner, envelope_id) DO NOTHING
                """)
        }
    }
}
