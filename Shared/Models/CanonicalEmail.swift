import Foundation

/// A signer's identity: the email address as the mail provider sees the mailbox.
///
/// Trimmed, Unicode NFC, lower-cased, with the provider's rules applied (aliases, ignored dots, `+tags`).
/// Two addresses that reach the same mailbox have the same canonical form, so one person signs once.
/// The value is personal data: never log it, and store only its keyed hash (`SignerKey`).
public struct CanonicalEmail: Hashable, Sendable {
    public let value: String

    /// The longest address SMTP can carry (RFC 5321 §4.5.3.1.3: a 256-octet path less the brackets).
    public static let maximumLength = 254

    public init(_ raw: String, rules: EmailProviderRules = .default) throws(ValidationProblem) {
        let normalised = raw.trimmingWhitespace().canonicalComposed().lowercased()
        guard !normalised.isEmpty else {
            throw ValidationProblem(field: "email", reason: "is required")
        }
        guard normalised.utf8.count <= Self.maximumLength else {
            throw ValidationProblem(field: "email", reason: "is longer than \(Self.maximumLength) characters")
        }
        guard let at = normalised.lastIndex(of: "@") else {
            throw ValidationProblem(field: "email", reason: "must be an address like name@example.org")
        }
        var local = String(normalised[..<at])
        var domain = String(normalised[normalised.index(after: at)...])
        if domain.hasSuffix(".") { domain.removeLast() }
        // An internationalised domain is compared in Unicode (NFC, lower case), whichever form was typed.
        if domain.contains("xn--") {
            guard let decoded = Punycode.decodeDomain(domain) else {
                throw ValidationProblem(field: "email", reason: "has a domain that is not valid")
            }
            domain = decoded.canonicalComposed().lowercased()
        }
        try Self.check(local: local, domain: domain)

        if let provider = rules.provider(for: domain) {
            domain = provider.domain
            for separator in provider.tagSeparators {
                if let range = local.firstRange(of: separator), range.lowerBound != local.startIndex {
                    local = String(local[..<range.lowerBound])
                }
            }
            if provider.ignoresDots {
                local.removeAll { $0 == "." }
            }
            if !provider.dropCharacters.isEmpty {
                local.removeAll { provider.dropCharacters.contains($0) }
            }
            guard !local.isEmpty else {
                throw ValidationProblem(field: "email", reason: "must have a mailbox name before the @")
            }
        }
        value = local + "@" + domain
    }

    /// Letters and digits of any script, and `-`; ASCII answered without a property lookup.
    private static func isDomainScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x61...0x7A, 0x30...0x39, 0x2D: true
        case 0..<0x80: false
        default: scalar.properties.isAlphabetic || scalar.properties.numericType != nil || [.nonspacingMark, .spacingMark, .enclosingMark].contains(scalar.properties.generalCategory)
        }
    }

    private static func check(local: String, domain: String) throws(ValidationProblem) {
        guard !local.isEmpty, local.utf8.count <= 64 else {
            throw ValidationProblem(field: "email", reason: "must have a mailbox name of 1 to 64 characters before the @")
        }
        // Scalar by scalar (grapheme and Foundation lookups were most of dedup's time).
        var previousWasDot = false
        for scalar in local.unicodeScalars {
            // Control characters (NUL, DEL, C1) and format characters (zero-width, bidi overrides) are no
            // mailbox's: they would only make one address look like another.
            guard !scalar.isWhitespaceScalar, scalar != "@", scalar != "\"", !(scalar == "." && previousWasDot),
                scalar.value >= 0x20, !(0x7F...0x9F).contains(scalar.value), scalar.properties.generalCategory != .format
            else {
                throw ValidationProblem(field: "email", reason: "has characters that are not allowed in the mailbox name")
            }
            previousWasDot = scalar == "."
        }
        guard local.utf8.first != UInt8(ascii: "."), local.utf8.last != UInt8(ascii: ".") else {
            throw ValidationProblem(field: "email", reason: "has characters that are not allowed in the mailbox name")
        }
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, domain.utf8.count <= 253 else {
            throw ValidationProblem(field: "email", reason: "must have a domain with a dot, like example.org")
        }
        for label in labels {
            guard !label.isEmpty, label.utf8.count <= 63, label.utf8.first != UInt8(ascii: "-"), label.utf8.last != UInt8(ascii: "-"),
                label.unicodeScalars.allSatisfy(Self.isDomainScalar)
            else {
                throw ValidationProblem(field: "email", reason: "has a domain that is not valid")
            }
        }
    }
}
