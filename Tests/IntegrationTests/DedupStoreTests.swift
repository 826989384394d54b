import Foundation
import Models
import Postgres
import Store
import Testing

@testable import Dedup

@Suite("Dedup's store against PostgreSQL")
struct DedupStoreTests {
    @Test("a partner's new signature on a petition that requires verification is held for it and receipted as accepted, not duplicate")
    func heldForVerificationIsAcceptedInTheReceipt() throws {
        let url = try TestEnvironment.makeDatabase()
        defer { TestEnvironment.dropDatabase(url) }
        let connection = try PostgresConnection(url: url)
        try Petitions.upsert(slug: "verified", title: "Verified", on: connection)
        try Petitions.setVerification(true, slug: "verified", on: connection)
        try connection.query("INSERT INTO partners (name, api_key_hash) VALUES ('acme', sha256('acme'::bytea))")
        let envelope = UUID()
        let rows = (0..<2).map { position in
            SignatureRow(
                signature: Signature(
                    submissionID: UUID(), petition: "verified", name: "Signer \(position)", email: "signer\(position)@example.org",
                    country: "DE", source: "partner:acme", signedAt: Date()),
                signerKey: SignerKey(bytes: Array(repeating: UInt8(position + 1), count: 32)), partner: "acme", envelopeID: envelope,
                position: position)
        }
        let outcome = try SignatureStore.insert(rows, rejected: [], verifying: ["verified"], on: connection)
        #expect(outcome.accepted.isEmpty, "nothing is counted before the signer confirms")
        #expect(try connection.query("SELECT count(*) FROM verification_emails")[0].decode(Int64.self, 0) == 2)
        let receipts = PartnerEnvelope.receipts(
            [PartnerEnvelope(envelopeID: envelope, partner: "acme", batchID: "batch-1", firstRow: 1, total: 2)],
            rows: rows, rejected: [], outcome: outcome)
        #expect(receipts.count == 1)
        #expect(receipts.first?.receipt.rows.map(\.status) == [.accepted, .accepted], "new signatures, held for verification")
        // The same rows again (the partner resends the batch): its own repeats, now duplicates.
        let again = rows.map { row in
            var row = row
            row.signature.submissionID = UUID()
            return row
        }
        let second = try SignatureStore.insert(again, rejected: [], verifying: ["verified"], on: connection)
        let resent = PartnerEnvelope.receipts(
            [PartnerEnvelope(envelopeID: envelope, partner: "acme", batchID: "batch-2", firstRow: 1, total: 2)],
            rows: again, rejected: [], outcome: second)
        #expect(resent.first?.receipt.rows.map(\.status) == [.duplicate, .duplicate])
    }
}
