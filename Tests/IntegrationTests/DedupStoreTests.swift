import AMQP
import Foundation
import Messaging
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

    @Test("a petition that confirms by e-mail on a dedup without data keys is the operator's problem: the envelope waits in the dead letters, no signer's row is refused")
    func missingDataKeysAreAnOperatorProblem() async throws {
        let url = try TestEnvironment.makeDatabase()
        defer { TestEnvironment.dropDatabase(url) }
        let connection = try PostgresConnection(url: url)
        try Petitions.upsert(slug: "verified", title: "Verified", on: connection)
        try Petitions.setVerification(true, slug: "verified", on: connection)
        try Petitions.upsert(slug: "open", title: "Open", on: connection)
        let pool = PostgresPool(configuration: .init(url: url, size: 1), logger: TestEnvironment.logger)
        pool.start()
        defer { pool.requestStop() }
        let names = TopologyNames(prefix: "unused.")
        // Never started: nothing may be published for an envelope that waits.
        let publisher = AMQPPublisher(configuration: .init(connection: TestEnvironment.amqp("unused"), topology: .undersigned(names)), logger: TestEnvironment.logger)
        let handler = EnvelopeHandler(
            pool: pool, publisher: publisher, names: names, keys: try SignerKeyMaker(secret: TestEnvironment.signerSecret), sealer: nil,
            logger: TestEnvironment.logger)
        let signatures = ["open", "verified"].map { petition in
            Signature(submissionID: UUID(), petition: petition, name: "Signer", email: "\(petition)@example.org", country: "DE", source: "web", signedAt: Date())
        }
        let message = Envelope(signatures: signatures).message(names, from: .intake)
        let delivery = Delivery(
            deliveryTag: 1, redelivered: false, exchange: message.exchange, routingKey: message.routingKey, body: message.body,
            properties: message.properties)
        let dead = try await handler.handle([delivery])
        #expect(dead.map(\.code) == ["not_configured"])
        #expect(dead.first?.reason.contains("UNDERSIGNED_DATA_KEYS") == true)
        #expect(dead.first?.reason.contains("@") == false, "no address in the reason")
        #expect(try connection.query("SELECT count(*) FROM rejected_signatures")[0].decode(Int64.self, 0) == 0, "no signer refused")
        #expect(try connection.query("SELECT count(*) FROM signatures")[0].decode(Int64.self, 0) == 0, "the envelope waits whole")
    }
}
