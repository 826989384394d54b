import AMQP
import Foundation
import Messaging
import Models
import Testing

/// Each contract builds its own outgoing message; these are what consumers, the broker's permissions and
/// `deploy/rabbitmq/definitions.json` rely on.
@Suite("Message contracts build their own messages")
struct MessageContractTests {
    let names = TopologyNames(prefix: "t.")

    func event(_ id: Int64) -> SignatureAccepted {
        SignatureAccepted(
            signatureID: id, submissionID: UUID(), petition: "peace", country: "DE", source: "web", signedAt: Date(), acceptedAt: Date())
    }

    @Test func anEnvelopeGoesToSubmittedUnderItsOwnID() throws {
        let envelope = Envelope(signatures: [Signature(
            submissionID: UUID(), petition: "peace", name: "A", email: "a@example.org", country: "DE", source: "web", signedAt: Date())])
        let intake = envelope.message(names, from: .intake)
        #expect(intake.exchange == "t.signatures.submitted")
        #expect(intake.routingKey == "intake")
        #expect(intake.properties.messageID == envelope.envelopeID.uuidString)
        #expect(intake.properties.type == Envelope.schema)
        #expect(intake.properties.appID == "undersigned-intake")
        #expect(intake.mandatory)
        let decoded = try Envelope.decode(wire: intake.body).get()
        #expect(decoded.envelopeID == envelope.envelopeID)
        #expect(envelope.message(names, from: .loadgen).properties.appID == "undersigned-loadgen")
        #expect(envelope.message(names, from: .loadgen).properties.messageID == envelope.envelopeID.uuidString, "loadgen's carry an id too")
    }

    @Test func aPartnersEnvelopeSaysWhoVouchesForThePartner() {
        let viaIntake = Envelope.fromPartner([1, 2], partner: "greenpeace", batchID: "b-1", firstRow: 1001, via: .intake, names)
        #expect(viaIntake.exchange == "t.signatures.submitted")
        #expect(viaIntake.routingKey == "partner.greenpeace")
        #expect(viaIntake.properties.userID == nil, "intake's own login writes it; the partner is in x-partner")
        #expect(viaIntake.properties.headers["x-partner"] == .string("greenpeace"))
        #expect(viaIntake.properties.headers["x-first-row"] == .int(1001))
        let direct = Envelope.fromPartner([1, 2], partner: "greenpeace", batchID: "b-1", firstRow: 1, via: .partner, names)
        #expect(direct.exchange == "t.partners.submitted")
        #expect(direct.routingKey == "greenpeace.b-1")
        #expect(direct.properties.userID == "greenpeace", "the broker checks it against the login")
        #expect(direct.properties.headers["x-partner"] == nil)
    }

    @Test func acceptedEventsAreSplitAndEachMessageNamesItsSignatures() throws {
        let events = (1...250).map { event(Int64($0)) }
        let messages = SignaturesAccepted.messages(events, perMessage: 100, names, from: .dedup)
        #expect(messages.map { $0.properties.messageID } == ["accepted:1+100", "accepted:101+100", "accepted:201+50"])
        #expect(messages.allSatisfy { $0.exchange == "t.signatures.accepted" && $0.properties.appID == "undersigned-dedup" })
        let decoded = try messages.map { try SignaturesAccepted.decode(wire: $0.body).get() }
        #expect(decoded.flatMap(\.events).map(\.signatureID) == events.map(\.signatureID))
        #expect(SignaturesAccepted.messages(events, perMessage: 100, names, from: .dedup).map { $0.properties.messageID }
                == messages.map { $0.properties.messageID }, "re-emitted events carry the same ids")
        #expect(SignaturesAccepted.messages([], perMessage: 100, names, from: .dedup).isEmpty)
    }

    @Test func milestonesAndReceiptsNameWhatTheyAreAbout() {
        let milestone = MilestoneReached(petition: "peace", threshold: 1000, total: 1003, reachedAt: Date()).message(names)
        #expect(milestone.exchange == "t.petitions.milestones")
        #expect(milestone.routingKey == "peace")
        #expect(milestone.properties.messageID == "milestone:peace:1000")
        #expect(milestone.properties.appID == "undersigned-tally")
        let envelopeID = UUID()
        let receipt = PartnerReceipt(partner: "greenpeace", batchID: "b-1", envelopeID: envelopeID, rows: []).message(names)
        #expect(receipt.exchange == "t.partners.receipts")
        #expect(receipt.routingKey == "greenpeace")
        #expect(receipt.properties.messageID == "receipt:greenpeace:\(envelopeID.uuidString.lowercased())")
        #expect(receipt.properties.correlationID == "b-1")
        #expect(!receipt.mandatory, "a partner without a receipts queue loses nothing: receipts are kept in the database")
    }
}
