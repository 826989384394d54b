import Foundation
import Models

/// The fields of a signing request, from JSON or an HTML form, before validation.
struct SignatureRequest {
    var name: String?
    var email: String?
    var country: String?
    var postalCode: String?
    var contactOptIn: Bool
    var source: String?
    /// Chosen by the signing page (or any client) so that a retry is recognised: see `storedID`.
    var submissionID: String?
    var language: String?
    var textVersion: String?
    /// What the sender believed when the signature was taken (a kiosk that queued it offline): whether a
    /// rehearsal was on. When it no longer holds the signature is refused (409), never counted in the other
    /// count. Nil: whatever is on now.
    var rehearsal: Bool?

    /// From a JSON object body. Names the field whose type is wrong.
    init(json body: [UInt8]) throws(ValidationProblem) {
        guard case .object(let object)? = JSONReader.parse(body) else {
            throw ValidationProblem(field: "body", reason: "must be a JSON object")
        }
        func string(_ key: String) throws(ValidationProblem) -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw ValidationProblem(field: key, reason: "must be a string")
            }
        }
        name = try string("name")
        email = try string("email")
        country = try string("country")
        postalCode = try string("postal_code")
        source = try string("source")
        submissionID = try string("submission_id")
        language = try string("language")
        switch object["text_version"] {
        case nil, .null?: textVersion = nil
        case .number(let number)?: textVersion = Int64(exactly: number).map(String.init) ?? "-"
        case .string(let text)?: textVersion = text
        default: throw ValidationProblem(field: "text_version", reason: "must be a whole number")
        }
        func flag(_ key: String) throws(ValidationProblem) -> Bool? {
            switch object[key] {
            case nil, .null?: return nil
            case .bool(let flag)?: return flag
            default: throw ValidationProblem(field: key, reason: "must be true or false")
            }
        }
        contactOptIn = try flag("contact_opt_in") ?? false
        rehearsal = try flag("rehearsal")
    }

    /// From an `application/x-www-form-urlencoded` body (an HTML form). A checkbox sends `on` when ticked.
    init(form body: [UInt8]) {
        let fields = Self.parseForm(String(decoding: body, as: UTF8.self))
        name = fields["name"]
        email = fields["email"]
        country = fields["country"]
        postalCode = fields["postal_code"]
        source = fields["source"]
        submissionID = fields["submission_id"]
        language = fields["lang"] ?? fields["language"]
        textVersion = fields["text_version"]
        contactOptIn = ["on", "true", "1", "yes"].contains(fields["contact_opt_in"]?.lowercased() ?? "")
    }

    /// A validated signature for `petition`, or the first problem, naming its field. `versions` are the
    /// petition's text versions: a `text_version` that is not one of them is refused.
    func signature(petition: String, versions: PetitionTextSet? = nil, now: Date = Date()) throws(ValidationProblem) -> Signature {
        guard let name, !name.isEmpty else { throw ValidationProblem(field: "name", reason: "is required") }
        guard let email, !email.isEmpty else { throw ValidationProblem(field: "email", reason: "is required") }
        guard let country, !country.isEmpty else { throw ValidationProblem(field: "country", reason: "is required") }
        let source = try Self.publicSource(self.source)
        var textVersion: Int64?
        if let text = self.textVersion, !text.isEmpty {
            guard let version = Int64(text), versions?.contains(id: version) ?? false else {
                throw ValidationProblem(field: "text_version", reason: "is not a version of this petition's text")
            }
            textVersion = version
        }
        let language = (self.language?.isEmpty ?? true) ? nil : self.language
        var signature = try Signature(
            submissionID: .random(), petition: petition, name: name, email: email, country: country,
            postalCode: postalCode, contactOptIn: contactOptIn, source: source, signedAt: now,
            language: language, textVersion: textVersion
        ).validated()
        if let submissionID {
            guard let clientID = UUID.parse(submissionID) else { throw ValidationProblem(field: "submission_id", reason: "must be a UUID") }
            signature.submissionID = Signature.storedID(clientID: clientID, for: signature)
        }
        return signature
    }

    /// A source a public signer may give (`web` when none): valid after trimming, and never one of the
    /// channels that are vouched for by our own code (`partner:…`, `paper…`, `kiosk:…`).
    static func publicSource(_ source: String?) throws(ValidationProblem) -> String {
        guard let source, !source.trimmingWhitespace().isEmpty else { return "web" }
        let checked = try Signature.validateSource(source)
        if SignatureSource.isReserved(checked) {
            throw ValidationProblem(field: "source", reason: "partner, paper and kiosk sources are set by their own channels, not by a signer")
        }
        return checked
    }

    static func parseForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            guard let key = parts.first else { continue }
            fields[decode(key)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
