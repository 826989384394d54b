import AMQP
import Messaging
import Models
@testable import ServiceSupport
import Testing

@testable import Ctl

/// `undersigned dead requeue` publishes a letter back only where something we trust says it came from,
/// and only to an exchange that feeds the letter's queue.
@Suite("Dead letters: what requeue trusts")
struct DeadLetterTrustTests {
    static let names = TopologyNames()

    static func letter(headers: [String: FieldValue], userID: String? = nil) -> Delivery {
        var properties = MessageProperties(contentType: "application/json", messageID: "forged")
        properties.headers = headers
        properties.userID = userID
        return Delivery(deliveryTag: 1, redelivered: false, exchange: names.deadExchange, routingKey: names.dedupQueue, body: [0x7B, 0x7D],
                        properties: properties)
    }

    static func death(exchange: String, key: String, queue: String = "partner.acme.submitted") -> FieldValue {
        .array([.table(["exchange": .string(exchange), "routing-keys": .array([.string(key)]), "queue": .string(queue),
                        "reason": .string("expired"), "count": .int(1)])])
    }

    @Test("a letter the broker dead-lettered goes back where x-death says, not where the sender's headers say, without user_id")
    func brokerLetter() throws {
        // A partner's message, dead-lettered by the broker: it kept the partner's own headers, forged ones included.
        let letter = Self.letter(headers: [
            "x-death": Self.death(exchange: Self.names.partnersExchange, key: "acme.batch"),
            DeadLetter.Header.originalExchange: .string(Self.names.acceptedExchange), DeadLetter.Header.originalRoutingKey: .string("accepted"),
            "x-partner": .string("someone-else"),
        ], userID: "acme")
        let message = try #require(DeadLetters.republished(letter, queue: Self.names.dedupQueue, names: Self.names))
        #expect(message.exchange == Self.names.partnersExchange && message.routingKey == "acme.batch")
        #expect(message.properties.userID == nil)
        #expect(message.properties.headers["x-partner"] == nil, "x-partner is believed on intake's exchange only")
        #expect(message.properties.headers.keys.allSatisfy { !$0.hasPrefix("x-undersigned-") && $0 != "x-death" })
    }

    @Test("a letter whose origin does not feed its queue is not published anywhere")
    func foreignOrigin() {
        let forged = Self.letter(headers: ["x-death": Self.death(exchange: Self.names.acceptedExchange, key: "accepted")])
        #expect(DeadLetters.republished(forged, queue: Self.names.dedupQueue, names: Self.names) == nil)
        let ours = Self.letter(headers: [
            DeadLetter.Header.originalExchange: .string(Self.names.milestonesExchange), DeadLetter.Header.originalRoutingKey: .string("x"),
        ])
        #expect(DeadLetters.republished(ours, queue: Self.names.dedupQueue, names: Self.names) == nil)
        #expect(DeadLetters.republished(Self.letter(headers: [:]), queue: Self.names.dedupQueue, names: Self.names) == nil)
    }

    @Test("an x-death entry a sender wrote for its own queue (the broker then only bumps its count) cannot point elsewhere")
    func forgedDeathEntries() {
        // The partner's queue with intake's exchange, or another partner's key: refused.
        for death in [
            Self.death(exchange: Self.names.submittedExchange, key: "x"),
            Self.death(exchange: Self.names.partnersExchange, key: "other.batch"),
            Self.death(exchange: Self.names.acceptedExchange, key: "x", queue: Self.names.dedupQueue),
            Self.death(exchange: Self.names.submittedExchange, key: "x", queue: "somewhere.else"),
        ] {
            #expect(DeadLetters.republished(Self.letter(headers: ["x-death": death]), queue: Self.names.dedupQueue, names: Self.names) == nil)
        }
        // Its own queue, its own exchange and key: back where it came from.
        let own = Self.letter(headers: ["x-death": Self.death(exchange: Self.names.partnersExchange, key: "acme")], userID: "acme")
        #expect(DeadLetters.republished(own, queue: Self.names.dedupQueue, names: Self.names)?.exchange == Self.names.partnersExchange)
        // An intake envelope the broker dead-lettered from dedup.submitted: back to intake's exchange.
        let intake = Self.letter(headers: ["x-death": Self.death(exchange: Self.names.submittedExchange, key: "signature", queue: Self.names.dedupQueue)])
        #expect(DeadLetters.republished(intake, queue: Self.names.dedupQueue, names: Self.names)?.exchange == Self.names.submittedExchange)
    }

    @Test("intake's letters keep x-partner (only intake writes its exchange); our services drop a sender's x-death")
    func serviceLetters() throws {
        let intake = Self.letter(headers: [
            DeadLetter.Header.originalExchange: .string(Self.names.submittedExchange), DeadLetter.Header.originalRoutingKey: .string("signature"),
            "x-partner": .string("acme"),
        ])
        let message = try #require(DeadLetters.republished(intake, queue: Self.names.dedupQueue, names: Self.names))
        #expect(message.exchange == Self.names.submittedExchange && message.properties.headers["x-partner"] == .string("acme"))

        // A sender's forged x-death does not survive our own dead-lettering.
        let received = Self.letter(headers: ["x-death": Self.death(exchange: Self.names.submittedExchange, key: "x"), "x-first-death-exchange": .string("x")],
                                   userID: "acme")
        let dead = DeadLetter(delivery: Delivery(
            deliveryTag: 1, redelivered: false, exchange: Self.names.partnersExchange, routingKey: "acme.b", body: [], properties: received.properties),
            code: "invalid", reason: "test").message(service: "dedup", queue: Self.names.dedupQueue, deadExchange: Self.names.deadExchange)
        #expect(dead.properties.headers["x-death"] == nil && dead.properties.headers["x-first-death-exchange"] == nil)
        #expect(dead.properties.headers[DeadLetter.Header.originalExchange] == .string(Self.names.partnersExchange))
    }
}

/// `undersigned erase` finds a signer in a dead letter that is not an envelope by the address's bytes.
@Suite("Erase in unreadable letters")
struct EraseSearchTests {
    @Test func findsTheAddressInAnyCaseOfASCIILetters() {
        let needle = Array("ada.l@example.org".utf8)
        #expect(EraseCommand.contains(Array("garbage {ADA.L@Example.ORG} more".utf8), needle))
        #expect(EraseCommand.contains(Array("ada.l@example.org".utf8), needle))
        #expect(!EraseCommand.contains(Array("ada.l@example.or".utf8), needle))
        #expect(!EraseCommand.contains(Array("xada_l@example.org".utf8), needle))
        #expect(!EraseCommand.contains([], needle))
        #expect(EraseCommand.contains(Array("a".utf8), Array("a".utf8)))
    }
}
