/// How one mail provider treats addresses, as data: which domains are the same mailbox, whether dots in
/// the local part are ignored, and which characters start a sub-address tag (`jane+petitions@…`).
///
/// The defaults cover the large consumer providers; ops can extend them (see `docs/`), and the rules are
/// applied by `CanonicalEmail`. Unknown domains keep their local part as typed (only case and Unicode form
/// are normalised), because merging two real people is worse than missing a duplicate.
public struct EmailProviderRules: Sendable, Hashable, Codable {
    public struct Provider: Sendable, Hashable, Codable {
        /// The canonical domain, e.g. `gmail.com`.
        public var domain: String
        /// Other domains that deliver to the same mailboxes, e.g. `googlemail.com`.
        public var aliases: [String]
        /// Dots in the local part are ignored by this provider.
        public var ignoresDots: Bool
        /// Characters after which the rest of the local part is a tag, e.g. `["+"]`.
        public var tagSeparators: [String]
        /// Other characters this provider ignores in the local part (dots are `ignoresDots`).
        public var dropCharacters: String

        public init(domain: String, aliases: [String] = [], ignoresDots: Bool = false, tagSeparators: [String] = [], dropCharacters: String = "") {
            self.domain = domain
            self.aliases = aliases
            self.ignoresDots = ignoresDots
            self.tagSeparators = tagSeparators
            self.dropCharacters = dropCharacters
        }

        enum CodingKeys: String, CodingKey { case domain, aliases, ignoresDots, tagSeparators, dropCharacters }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            self.init(
                domain: try container.decode(String.self, forKey: .domain),
                aliases: try container.decodeIfPresent([String].self, forKey: .aliases) ?? [],
                ignoresDots: try container.decodeIfPresent(Bool.self, forKey: .ignoresDots) ?? false,
                tagSeparators: try container.decodeIfPresent([String].self, forKey: .tagSeparators) ?? [],
                dropCharacters: try container.decodeIfPresent(String.self, forKey: .dropCharacters) ?? "")
        }
    }

    public var providers: [Provider]
    private var byDomain: [String: Provider]

    public init(providers: [Provider]) {
        self.providers = providers
        var byDomain: [String: Provider] = [:]
        for provider in providers {
            byDomain[provider.domain] = provider
            for alias in provider.aliases { byDomain[alias] = provider }
        }
        self.byDomain = byDomain
    }

    /// The provider that owns `domain` (already lower-cased), if any.
    public func provider(for domain: String) -> Provider? { byDomain[domain] }

    public static let `default` = EmailProviderRules(providers: [
        Provider(domain: "gmail.com", aliases: ["googlemail.com"], ignoresDots: true, tagSeparators: ["+"]),
        Provider(domain: "outlook.com", aliases: [], tagSeparators: ["+"]),
        Provider(domain: "hotmail.com", aliases: [], tagSeparators: ["+"]),
        Provider(domain: "live.com", aliases: [], tagSeparators: ["+"]),
        Provider(domain: "icloud.com", aliases: ["me.com", "mac.com"], tagSeparators: ["+"]),
        Provider(domain: "proton.me", aliases: ["protonmail.com", "protonmail.ch", "pm.me"], tagSeparators: ["+"]),
        Provider(domain: "fastmail.com", aliases: [], tagSeparators: ["+"]),
        Provider(domain: "yahoo.com", aliases: [], tagSeparators: ["-"]),
        Provider(domain: "yandex.ru", aliases: ["yandex.com", "ya.ru"], tagSeparators: ["+"]),
    ])

    enum CodingKeys: String, CodingKey { case providers }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(providers: try container.decode([Provider].self, forKey: .providers))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(providers, forKey: .providers)
    }
}
