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
        switch object["contact_opt_in"] {
        case nil, .null?: contactOptIn = false
        case .bool(let flag)?: contactOptIn = flag
        default: throw ValidationProblem(field: "contact_opt_in", reason: "must be true or false")
        }
    }

    /// From an `application/x-www-form-urlencoded` body (an HTML form). A checkbox sends `on` when ticked.
    init(form body: [UInt8]) {
        let fields = Self.parseForm(String(decoding: body, as: UTF8.self))
        name = fields["name"]
        email = fields["email"]
        country = fields["country"]
        postalCode = fields["postal_code"]
        source = fields["source"]
        contactOptIn = ["on", "true", "1", "yes"].contains(fields["contact_opt_in"]?.lowercased() ?? "")
    }

    /// A validated signature for `petition`, or the first problem, naming its field.
    func signature(petition: String, now: Date = Date()) throws(ValidationProblem) -> Signature {
        guard let name, !name.isEmpty else { throw ValidationProblem(field: "name", reason: "is required") }
        guard let email, !email.isEmpty else { throw ValidationProblem(field: "email", reason: "is required") }
        guard let country, !country.isEmpty else { throw ValidationProblem(field: "country", reason: "is required") }
        let source = self.source ?? "web"
        if source.lowercased().hasPrefix("partner") {
            throw ValidationProblem(field: "source", reason: "partner sources are set by the partner channel, not by a signer")
        }
        return try Signature(
            submissionID: .random(), petition: petition, name: name, email: email, country: country,
            postalCode: postalCode, contactOptIn: contactOptIn, source: source, signedAt: now
        ).validated()
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
