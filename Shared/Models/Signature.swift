import Foundation

/// One person's signature of one petition, as it travels in an `Envelope`.
///
/// Carries personal data (`name`, `email`, `postalCode`): never log a `Signature` or put it in a metric.
public struct Signature: Sendable, Hashable {
    /// Made by intake (a random UUID), or derived from a partner's name and own id (`partnerSubmissionID`).
    public var submissionID: UUID
    /// The petition's slug, e.g. `digital-peace-now`.
    public var petition: String
    public var name: String
    /// As typed by the signer; dedup derives the canonical form and its key.
    public var email: String
    /// ISO 3166-1 alpha-2, upper-case.
    public var country: String
    public var postalCode: String?
    /// The signer agreed to be contacted about the campaign.
    public var contactOptIn: Bool
    /// Channel: `web`, `event:<code>`, `screen:<name>` (from a signer); `kiosk:<name>`, `partner:<name>`, `paper:<name>` (set by their channels); lower-case letters, digits and `.:_-`.
    public var source: String
    public var signedAt: Date
    /// The language the signer read the petition in (`fr`), when a page of ours showed it.
    public var language: String?
    /// The id of the petition text version the signer was shown (`petition_texts`); dedup keeps it only
    /// when it is a version of this petition.
    public var textVersion: Int64?

    public init(
        submissionID: UUID, petition: String, name: String, email: String, country: String,
        postalCode: String? = nil, contactOptIn: Bool = false, source: String, signedAt: Date,
        language: String? = nil, textVersion: Int64? = nil
    ) {
        self.submissionID = submissionID
        self.petition = petition
        self.name = name
        self.email = email
        self.country = country
        self.postalCode = postalCode
        self.contactOptIn = contactOptIn
        self.source = source
        self.signedAt = signedAt
        self.language = language
        self.textVersion = textVersion
    }

    /// A submission id for a partner's own record id: the same partner and id always give the same UUID
    /// (a name-based UUID, version 5 layout over SHA-256), so a batch pushed twice is recognised as a redelivery.
    public static func partnerSubmissionID(partner: String, reference: String) -> UUID {
        NameBasedUUID.make(namespace: "undersigned.partner", name: partner + "\u{0}" + reference)
    }

    /// The id a signature is stored under when its client chose one: derived from that id *and* the
    /// signature's fields. A retry (same id, same signature) is the same message to dedup, so it is counted
    /// once; the same id sent with anything else (another person, another petition) is another signature
    /// and can neither overwrite, move nor double the first.
    public static func storedID(clientID: UUID, for signature: Signature) -> UUID {
        let fields = [
            clientID.uuidString, signature.petition, signature.name, signature.email.lowercased(), signature.country,
            signature.postalCode ?? "", signature.contactOptIn ? "1" : "0", signature.source,
        ]
        return NameBasedUUID.make(namespace: "undersigned.client", name: fields.joined(separator: "\u{0}"))
    }
}

extension Signature {
    public static let maximumNameLength = 200
    /// Code points in a name: room for 200 characters of scripts that combine marks (Devanagari, Thai,
    /// Vietnamese written decomposed), not for 4,000 marks on one letter.
    public static let maximumNameCodePoints = 600
    /// Code points in one character: the longest emoji sequences (a family with skin tones) have 10 or so.
    public static let maximumCodePointsPerCharacter = 16
    public static let maximumPostalCodeLength = 16
    public static let maximumSourceLength = 64

    /// The same signature with its fields normalised (trimmed, country upper-cased), or the first problem.
    public func validated() throws(ValidationProblem) -> Signature {
        var copy = self
        copy.petition = try PetitionSlug.validate(petition, field: "petition")
        copy.name = try Self.validateName(name)
        _ = try CanonicalEmail(email)
        copy.email = email.trimmingWhitespace()
        copy.country = try Country(country).code
        copy.postalCode = try Self.validatePostalCode(postalCode)
        copy.source = try Self.validateSource(source)
        if let language { copy.language = try PetitionLanguage.validate(language) }
        if let textVersion, textVersion <= 0 { throw ValidationProblem(field: "text_version", reason: "must be a positive whole number") }
        return copy
    }

    public static func validateName(_ name: String) throws(ValidationProblem) -> String {
        let trimmed = name.trimmingWhitespace()
        guard !trimmed.isEmpty else { throw ValidationProblem(field: "name", reason: "is required") }
        // Counting characters walks grapheme clusters; a name of few bytes cannot be too long.
        // Bounded in code points before any grapheme is counted: one letter with 4,000 combining marks is
        // one "character" but 4,001 code points (and a page of zalgo on a target's screen).
        guard trimmed.unicodeScalars.count <= maximumNameCodePoints else {
            throw ValidationProblem(field: "name", reason: "is longer than \(maximumNameLength) characters")
        }
        guard trimmed.utf8.count <= maximumNameLength || trimmed.count <= maximumNameLength else {
            throw ValidationProblem(field: "name", reason: "is longer than \(maximumNameLength) characters")
        }
        guard !trimmed.contains(where: { $0.unicodeScalars.count > maximumCodePointsPerCharacter }) else {
            throw ValidationProblem(field: "name", reason: "has a character made of more than \(maximumCodePointsPerCharacter) code points")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }) else {
            throw ValidationProblem(field: "name", reason: "contains control characters")
        }
        return trimmed.canonicalComposed()
    }

    public static func validatePostalCode(_ code: String?) throws(ValidationProblem) -> String? {
        guard let code else { return nil }
        let trimmed = code.trimmingWhitespace()
        if trimmed.isEmpty { return nil }
        guard trimmed.utf8.count <= maximumPostalCodeLength,
            trimmed.utf8.allSatisfy({ ASCII.isLetterOrDigit($0) || $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "-") })
        else {
            throw ValidationProblem(
                field: "postal_code",
                reason: "must be at most \(maximumPostalCodeLength) letters, digits, spaces or dashes")
        }
        return trimmed.uppercased()
    }

    public static func validateSource(_ source: String) throws(ValidationProblem) -> String {
        let trimmed = source.trimmingWhitespace().lowercased()
        guard !trimmed.isEmpty, trimmed.utf8.count <= maximumSourceLength,
            trimmed.utf8.allSatisfy({ ASCII.isLetterOrDigit($0) || ".:_-".utf8.contains($0) })
        else {
            throw ValidationProblem(
                field: "source",
                reason: "must be 1 to \(maximumSourceLength) lower-case letters, digits or . : _ - (e.g. web, newsletter, event:main-stage)")
        }
        return trimmed
    }
}

enum ASCII {
    static func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }
    static func isLetterOrDigit(_ byte: UInt8) -> Bool { isDigit(byte) || (65...90).contains(byte) || (97...122).contains(byte) }
}

/// A petition's slug: lower-case letters, digits and dashes, 1 to 64 characters, starting with a letter or digit.
public enum PetitionSlug {
    public static func validate(_ slug: String, field: String = "slug") throws(ValidationProblem) -> String {
        guard !slug.isEmpty, slug.utf8.count <= 64, slug.first != "-",
            slug.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "-") })
        else {
            throw ValidationProblem(field: field, reason: "must be 1 to 64 lower-case letters, digits or dashes")
        }
        return slug
    }
}
