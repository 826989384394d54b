import Models
import Testing

@Suite("Where a signature came from, typed")
struct SignatureSourceTests {
    @Test("stored text reads back as it was written, in its channel", arguments: [
        ("web", SignatureSource.signer("web"), SignatureSource.Channel.web),
        ("event:glastonbury", .signer("event:glastonbury"), .web),
        ("kiosk:gate-a", .kiosk("gate-a"), .kiosk),
        ("partner:acme", .partner("acme"), .partner),
        ("paper:acme", .paper(partner: "acme"), .paper),
        ("paper", .paper(partner: nil), .paper),
    ])
    func roundTrip(stored: String, source: SignatureSource, channel: SignatureSource.Channel) {
        #expect(SignatureSource(stored: stored) == source)
        #expect(source.stored == stored)
        #expect(source.channel == channel)
    }

    @Test func aPartnersRowsAreRecordedUnderThePartnerWhateverTheyClaim() {
        #expect(SignatureSource(stored: "paper").vouched(byPartner: "acme") == .paper(partner: "acme"))
        #expect(SignatureSource(stored: "web").vouched(byPartner: "acme") == .partner("acme"))
        #expect(SignatureSource(stored: "kiosk:gate-a").vouched(byPartner: "acme") == .partner("acme"))
        #expect(SignatureSource(stored: "partner:other").vouched(byPartner: "acme") == .partner("acme"))
    }

    @Test func aSignerCannotClaimAVouchedChannel() {
        for text in ["partner:acme", "partnerX", "paper", "paper:acme", "kiosk:gate-a", "kiosky"] {
            #expect(SignatureSource.isReserved(text), "\(text)")
        }
        for text in ["web", "event:x", "screen:main", "utm:kiosk"] {
            #expect(!SignatureSource.isReserved(text), "\(text)")
        }
    }
}
