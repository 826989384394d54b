import Foundation

/// One version of what a signer is shown, in one language: the title, the text and the exact wording of
/// the contact opt-in. Versions are never changed; a signature records the id of the one it was given.
public struct PetitionText: Sendable, Equatable, Hashable {
    /// The English wording of the opt-in, for petitions created without one.
    public static let defaultConsent = "Yes, keep me informed about this campaign by email. I can unsubscribe at any time."

    public var id: Int64
    /// ISO 639-1 (or -2) code, lower-case: `en`, `fr`, `ar`.
    public var language: String
    public var title: String
    public var body: String
    public var consent: String

    public init(id: Int64, language: String, title: String, body: String, consent: String) {
        self.id = id
        self.language = language
        self.title = title
        self.body = body
        self.consent = consent
    }
}

/// A petition's texts: every version, and the newest per language.
public struct PetitionTextSet: Sendable, Equatable {
    /// Oldest first.
    public var versions: [PetitionText]

    public init(versions: [PetitionText]) { self.versions = versions }

    /// The newest text in `language`, if the petition has one.
    public func current(_ language: String) -> PetitionText? {
        versions.last { $0.language == language }
    }

    /// Languages the petition is written in.
    public var languages: Set<String> { Set(versions.map(\.language)) }

    public func contains(id: Int64) -> Bool { versions.contains { $0.id == id } }
}
