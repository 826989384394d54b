import Foundation

/// One row of a partner's batch (a CSV record under its header, or an NDJSON / JSON-array object), as
/// field names and text values, and the envelope signature it becomes. Field names: `name` (or
/// `given_name` and `family_name`), `email`, `country`, `postal_code`, `contact_opt_in`, `petition`,
/// `signed_at`, `reference` (the partner's own id for the row). An OSDI record-signature-helper object
/// (`person.given_name`, `family_name`, `email_addresses[].address`, `postal_addresses[].country` and
/// `postal_code`) is read too.
public struct PartnerRecord: Sendable, Equatable {
    public var fields: [String: String]

    public init(fields: [String: String]) {
        self.fields = fields
    }

    /// A CSV record under `header` (names lower-cased and trimmed).
    public init(header: [String], values: [String]) {
        var fields: [String: String] = [:]
        for (name, value) in zip(header, values) { fields[name.trimmingWhitespace().lowercased()] = value }
        self.fields = fields
    }

    /// A JSON object: flat fields, or the OSDI shape. Throws when it is not an object.
    public init(json: JSONValue) throws(ValidationProblem) {
        guard case .object(var object) = json else { throw ValidationProblem(field: "row", reason: "must be a JSON object") }
        if case .object(let person)? = object["person"] { object.merge(person) { outer, _ in outer } }
        var fields: [String: String] = [:]
        for (key, value) in object {
            switch value {
            case .string(let text): fields[key] = text
            case .bool(let flag): fields[key] = flag ? "true" : "false"
            case .number(let number): fields[key] = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            default: break
            }
        }
        if fields["email"] == nil, case .array(let addresses)? = object["email_addresses"] {
            let chosen = addresses.first { if case .object(let a) = $0, case .bool(true)? = a["primary"] { true } else { false } } ?? addresses.first
            if case .object(let address)? = chosen, case .string(let text)? = address["address"] { fields["email"] = text }
        }
        if case .array(let addresses)? = object["postal_addresses"], case .object(let address)? = addresses.first {
            if fields["country"] == nil, case .string(let text)? = address["country"] { fields["country"] = text }
            if fields["postal_code"] == nil, case .string(let text)? = address["postal_code"] { fields["postal_code"] = text }
        }
        self.fields = fields
    }

    /// The envelope signature for this row (not validated: dedup validates and reports each row). The
    /// submission id comes from the partner and its `reference`, or from `batchKey` and the row number, so
    /// sending the same row again is recognised as a redelivery.
    public func signature(partner: String, petition defaultPetition: String?, batchKey: String, row: Int, now: Date) -> Signature {
        func field(_ name: String) -> String? {
            guard let value = fields[name]?.trimmingWhitespace(), !value.isEmpty else { return nil }
            return value
        }
        let name = field("name") ?? [field("given_name"), field("family_name")].compactMap { $0 }.joined(separator: " ")
        let reference = field("reference") ?? "\(batchKey):\(row)"
        let optIn = ["true", "1", "yes", "on", "y"].contains(field("contact_opt_in")?.lowercased() ?? "")
        return Signature(
            submissionID: Signature.partnerSubmissionID(partner: partner, reference: reference),
            petition: field("petition") ?? defaultPetition ?? "", name: name, email: field("email") ?? "",
            country: field("country") ?? "", postalCode: field("postal_code"), contactOptIn: optIn,
            // A row typed in from a paper form says so (`source: paper`); dedup records it as `paper:PARTNER`.
            source: (field("source")?.lowercased() == "paper" ? SignatureSource.paper(partner: nil) : .partner(partner)).stored,
            signedAt: field("signed_at").flatMap(Timestamp.parse) ?? now)
    }
}

extension Envelope {
    /// The id of a partner's envelope starting at `firstRow` of batch `batchID`: the same every time the
    /// same rows are sent, so a resumed push is recognised (and its receipt kept once).
    public static func partnerEnvelopeID(partner: String, batchID: String, firstRow: Int) -> UUID {
        NameBasedUUID.make(namespace: "undersigned.partner-envelope", name: "\(partner)\u{0}\(batchID)\u{0}\(firstRow)")
    }
}
