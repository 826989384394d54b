import Foundation
import Models
import Store

/// `manifest.json` of a package: what it holds, for whom, and the CSV's checksum, so a receiving office
/// (or an auditor, later) can check that the file it has is the one that was sent.
struct DeliveryManifest: Codable, Sendable, Equatable {
    struct PetitionPart: Codable, Sendable, Equatable {
        var slug: String
        var title: String
    }

    struct TargetPart: Codable, Sendable, Equatable {
        var name: String
        var title: String
        var kind: String
        /// nil: signers from every country.
        var countries: [String]?
    }

    struct DeliveryPart: Codable, Sendable, Equatable {
        var id: Int64
        var trigger: String
        /// "incremental" (since the target's previous delivery) or "full".
        var scope: String
        var createdAt: Date
    }

    struct IDRange: Codable, Sendable, Equatable {
        /// The package holds signatures with ids in (after, through]; first and last are the ids it holds.
        var after: Int64
        var through: Int64
        var first: Int64?
        var last: Int64?
    }

    struct CSVPart: Codable, Sendable, Equatable {
        var file: String
        var bytes: Int64
        var sha256: String
        var columns: [String]
    }

    /// A version of the petition's text that signers of this package were shown, with how many of them:
    /// what they signed is what is delivered. `version` nil: signatures with no version recorded.
    struct TextPart: Codable, Sendable, Equatable {
        var version: Int64?
        var language: String?
        var title: String?
        var text: String?
        var consent: String?
        var signatures: Int64
    }

    var format = "undersigned-delivery/1"
    var petition: PetitionPart
    var target: TargetPart
    var delivery: DeliveryPart
    var signatures: Int64
    var countsByCountry: [String: Int64]
    var firstSignedAt: Date?
    var lastSignedAt: Date?
    var signatureIds: IDRange
    var csv: CSVPart
    /// nil in packages built before texts were versioned.
    var texts: [TextPart]?

    init(delivery: DeliveryRecord, target: DeliveryTarget, petition: Petition, summary: PackageSummary, texts: [TextPart] = []) {
        self.petition = PetitionPart(slug: petition.slug, title: petition.title)
        self.target = TargetPart(name: target.name, title: target.title, kind: target.kind, countries: target.countries)
        self.delivery = DeliveryPart(id: delivery.id, trigger: delivery.trigger, scope: delivery.full ? "full" : "incremental", createdAt: delivery.createdAt)
        signatures = summary.signatures
        countsByCountry = summary.countsByCountry
        firstSignedAt = summary.firstSignedAt
        lastSignedAt = summary.lastSignedAt
        signatureIds = IDRange(after: delivery.afterID, through: delivery.throughID, first: summary.firstID, last: summary.lastID)
        csv = CSVPart(file: Package.csvName, bytes: summary.csvBytes, sha256: summary.csvSHA256, columns: Package.csvColumns)
        self.texts = texts
    }

    var summary: PackageSummary {
        PackageSummary(
            signatures: signatures, countsByCountry: countsByCountry, firstSignedAt: firstSignedAt, lastSignedAt: lastSignedAt,
            firstID: signatureIds.first, lastID: signatureIds.last, csvSHA256: csv.sha256, csvBytes: csv.bytes)
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .rfc3339
        return try encoder.encode(self)
    }

    static func decode(_ data: Data) throws -> DeliveryManifest {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .rfc3339
        return try decoder.decode(DeliveryManifest.self, from: data)
    }
}

/// The human-readable cover letter (HTML): the petition's text, who it is for, the totals by country,
/// and the checksum of the list of signatures. Every value is escaped.
struct CoverLetter {
    let manifest: DeliveryManifest
    let petitionText: String

    func html() -> String {
        let countries = manifest.countsByCountry.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        let rows = countries.map { "<tr><td>\(escape($0.key))</td><td class=\"n\">\(grouped($0.value))</td></tr>" }.joined(separator: "\n")
        let period = [manifest.firstSignedAt, manifest.lastSignedAt].compactMap { $0 }.map { escape(day($0)) }
        let paragraphs = petitionText.split(separator: "\n", omittingEmptySubsequences: true).map { "<p>\(escape(String($0)))</p>" }.joined(separator: "\n")
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(escape(manifest.petition.title)): \(grouped(manifest.signatures)) signatures</title>
            <style>
            body { font-family: Georgia, serif; max-width: 42em; margin: 3em auto; line-height: 1.5; color: #111; }
            table { border-collapse: collapse; } td, th { padding: 0.2em 1em; border-bottom: 1px solid #ddd; text-align: left; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; } .small { font-size: 0.85em; color: #555; }
            </style>
            </head>
            <body>
            <p>To: \(escape(manifest.target.title))</p>
            <h1>\(escape(manifest.petition.title))</h1>
            \(paragraphs)
            <p>This delivery carries <strong>\(grouped(manifest.signatures)) signatures</strong>\
            \(manifest.delivery.scope == "incremental" ? " collected since our previous delivery to you" : "")\
            \(period.count == 2 ? ", signed between \(period[0]) and \(period[1])" : "").</p>
            <table>
            <thead><tr><th>Country</th><th>Signatures</th></tr></thead>
            <tbody>
            \(rows)
            </tbody>
            </table>
            <p class="small">The signatures are listed in \(escape(manifest.csv.file)) (\(grouped(manifest.csv.bytes)) bytes,
            SHA-256 \(escape(manifest.csv.sha256))): name, country, postal code where given, time signed (UTC) and how it was collected.
            Delivery \(manifest.delivery.id) (\(escape(manifest.delivery.trigger))), petition \(escape(manifest.petition.slug)).</p>
            </body>
            </html>

            """
    }

    private func escape(_ text: String) -> String { text.htmlEscaped }

    private func grouped(_ number: Int64) -> String {
        let digits = Array(String(number))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }

    private func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle().year().month().day())
    }
}
