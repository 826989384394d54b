import Foundation

/// One person's signature of one petition, as it travels in an `Envelope`.
///
/// Carries personal data (`name`, `email`, `postalCode`): never log a `Signature` or put it in a metric.
public struct Signature: Codable, Sendable, Hashable {
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
    /// Channel: `web`, `kiosk`, `event:<code>`, `partner:<name>`; lower-case letters, digits and `.:_-`.
    public var source: String
    public var signedAt: Date

    public init(
        submissionID: UUID, petition: String, name: String, email: String, country: String,
        postalCode: String? = nil, contactOptIn: Bool = false, source: String, signedAt: Date
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
    }

    enum CodingKeys: String, CodingKey {
        case submissionID = "submission_id"
        case petition, name, email, country
        case postalCode = "postal_code"
        case contactOptIn = "contact_opt_in"
        case source
        case signedAt = "signed_at"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        submissionID = try c.decode(UUID.self, forKey: .submissionID)
        petition = try c.decode(String.self, forKey: .petition)
        name = try c.decode(String.self, forKey: .name)
        email = try c.decode(String.self, forKey: .email)
        country = try c.decode(String.self, forKey: .country)
        postalCode = try c.decodeIfPresent(String.self, forKey: .postalCode)
        contactOptIn = try c.decodeIfPresent(Bool.self, forKey: .contactOptIn) ?? false
        source = try c.decode(String.self, forKey: .source)
        signedAt = try c.decode(Date.self, forKey: .signedAt)
    }

    /// A submission id for a partner's own record id: the same partner and id always give the same UUID
    /// (a name-based UUID, version 5 layout over SHA-256), so a batch pushed twice is recognised as a redelivery.
    public static func partnerSubmissionID(partner: String, reference: String) -> UUID {
        NameBasedUUID.make(namespace: "undersigned.partner", name: partner + "\u{0}" + reference)
    }
}

extension Signature {
    public static let maximumNameLength = 200
    public static let maximumPostalCodeLength = 16
    public static let maximumSourceLength = 64

    /// The same signature with its fields normalised (trimmed, country upper-cased), or the first problem.
    public func validated() throws(ValidationProblem) -> Signature {
        var copy = self
        copy.petition = try PetitionSlug.validate(petition, field: "petition")
        copy.name = try Self.validateName(name)
        _ = try CanonicalEmail(email)
        copy.email = email.trimmingCharacters(in: .whitespacesAndNewlines)
        copy.country = try Country(country).code
        copy.postalCode = try Self.validatePostalCode(postalCode)
        copy.source = try Self.validateSource(source)
        return copy
    }

    public static func validateName(_ name: String) throws(ValidationProblem) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ValidationProblem(field: "name", reason: "is required") }
        guard trimmed.count <= maximumNameLength else {
            throw ValidationProblem(field: "name", reason: "is longer than \(maximumNameLength) characters")
        }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw ValidationProblem(field: "name", reason: "contains control characters")
        }
        return trimmed.precomposedStringWithCanonicalMapping
    }

    public static func validatePostalCode(_ code: String?) throws(ValidationProblem) -> String? {
        guard let code else { return nil }
        let trimmed = code.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return nil }
        guard trimmed.count <= maximumPostalCodeLength,
            trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == " " || $0 == "-") })
        else {
            throw ValidationProblem(
                field: "postal_code",
                reason: "must be at most \(maximumPostalCodeLength) letters, digits, spaces or dashes")
        }
        return trimmed.uppercased()
    }

    public static func validateSource(_ source: String) throws(ValidationProblem) -> String {
        let trimmed = source.trimmingCharacters(in: .whitespaces).lowercased()
        guard !trimmed.isEmpty, trimmed.count <= maximumSourceLength,
            trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".:_-".contains($0)) })
        else {
            throw ValidationProblem(
                field: "source",
                reason: "must be 1 to \(maximumSourceLength) lower-case letters, digits or . : _ - (e.g. web, kiosk, event:main-stage)")
        }
        return trimmed
    }
}

/// A petition's slug: lower-case letters, digits and dashes, 1 to 64 characters, starting with a letter or digit.
public enum PetitionSlug {
    public static func validate(_ slug: String, field: String = "slug") throws(ValidationProblem) -> String {
        guard !slug.isEmpty, slug.utf8.count <= 64, slug.first != "-",
            slug.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") })
        else {
            throw ValidationProblem(field: field, reason: "must be 1 to 64 lower-case letters, digits or dashes")
        }
        return slug
    }
}
