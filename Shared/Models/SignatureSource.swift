/// Where a signature came from, as `signatures.source` stores it: what a signer's page said (`web`,
/// `event:CODE`, …), or a channel our own code vouches for: a kiosk (its token), a partner (its broker
/// login or API key), a partner's paper forms. A signer can never claim the vouched ones.
public enum SignatureSource: Hashable, Sendable {
    /// As the signer's page gave it (`web` when none).
    case signer(String)
    case kiosk(String)
    case partner(String)
    /// Paper forms typed in by a partner; `paper` alone is what a partner's row says before dedup names the partner.
    case paper(partner: String?)

    /// The channels counted apart: web, kiosk, partner, paper.
    public enum Channel: String, Sendable, CaseIterable {
        case web, kiosk, partner, paper
    }

    /// Reads a stored source; anything without a vouched prefix is a signer's.
    public init(stored: String) {
        if stored == "paper" {
            self = .paper(partner: nil)
        } else if let name = Self.name(stored, after: "paper:") {
            self = .paper(partner: name)
        } else if let name = Self.name(stored, after: "partner:") {
            self = .partner(name)
        } else if let name = Self.name(stored, after: "kiosk:") {
            self = .kiosk(name)
        } else {
            self = .signer(stored)
        }
    }

    /// As stored: `kiosk:NAME`, `partner:NAME`, `paper:NAME`, `paper`, or the signer's text.
    public var stored: String {
        switch self {
        case .signer(let text): text
        case .kiosk(let name): "kiosk:" + name
        case .partner(let name): "partner:" + name
        case .paper(let partner): partner.map { "paper:" + $0 } ?? "paper"
        }
    }

    /// The same rule as the database's `signature_channel(source)`.
    public var channel: Channel {
        switch self {
        case .signer: .web
        case .kiosk: .kiosk
        case .partner: .partner
        case .paper: .paper
        }
    }

    /// What a partner sent, recorded under the partner whatever it wrote: its paper forms as
    /// `paper:PARTNER`, everything else as `partner:PARTNER`.
    public func vouched(byPartner partner: String) -> SignatureSource {
        if case .paper = self { return .paper(partner: partner) }
        return .partner(partner)
    }

    /// A text a signer may not give as a source: one that starts as a vouched channel does (`partner…`,
    /// `paper…`, `kiosk…`, looser than the stored prefixes, so that `partnerX` cannot pass for one either).
    public static func isReserved(_ text: String) -> Bool {
        ["partner", "paper", "kiosk"].contains { text.hasPrefix($0) }
    }

    private static func name(_ stored: String, after prefix: String) -> String? {
        stored.hasPrefix(prefix) ? String(stored.dropFirst(prefix.count)) : nil
    }
}
