import Foundation
import Models

/// The words of the pages and mails in one language, read from `Catalogues/<language>.json` (a flat
/// object of strings; `{name}` marks a value put in when the text is used).
public struct Catalogue: Sendable {
    /// ISO 639-1 code: `en`, `fr`, `ar`.
    public let language: String
    public let strings: [String: String]

    public init(language: String, strings: [String: String]) {
        self.language = language
        self.strings = strings
    }

    /// `rtl` or `ltr`.
    public var direction: String { strings["dir"] == "rtl" ? "rtl" : "ltr" }

    /// The text of `key`; the key itself where the catalogue lacks it (a test checks none does).
    public subscript(key: String) -> String { strings[key] ?? key }

    /// The text of `key` with each `{name}` replaced by `values[name]`.
    public func text(_ key: String, _ values: [String: String]) -> String {
        var text = self[key]
        for (name, value) in values { text = text.replacingOccurrences(of: "{\(name)}", with: value) }
        return text
    }
}

/// Every catalogue, loaded once from the module's resources.
public struct Catalogues: Sendable {
    /// The languages there are catalogues for, in the order the switcher shows them.
    public static let supported = ["en", "fr", "de", "es", "pt", "ar"]
    public static let fallback = "en"

    public static let shared: Catalogues = {
        do {
            return try Catalogues(directory: Resources.url("Catalogues"))
        } catch {
            fatalError("the message catalogues shipped with the program cannot be read: \(error)")
        }
    }()

    public let all: [String: Catalogue]

    /// Reads `<language>.json` for each supported language from `directory`.
    public init(directory: URL) throws {
        var all: [String: Catalogue] = [:]
        for language in Self.supported {
            let data = try Data(contentsOf: directory.appendingPathComponent("\(language).json"))
            all[language] = Catalogue(language: language, strings: try JSONDecoder().decode([String: String].self, from: data))
        }
        self.all = all
    }

    public subscript(language: String) -> Catalogue { all[language] ?? all[Self.fallback]! }

    /// The signer's language: `requested` (`?lang=`) when there is a catalogue for it, else the first
    /// language of `Accept-Language` there is one for (by preference), else English.
    public func negotiate(requested: String?, acceptLanguage: String?) -> Catalogue {
        if let requested = requested?.lowercased(), let catalogue = all[requested] { return catalogue }
        for tag in LanguageRange.parse(acceptLanguage ?? "") {
            if let catalogue = all[tag.language] { return catalogue }
        }
        return self[Self.fallback]
    }
}

/// One entry of an `Accept-Language` header (RFC 9110 §12.5.4), e.g. `fr-CH;q=0.9`.
public struct LanguageRange: Sendable, Equatable {
    /// The primary subtag, lower-case: `fr`.
    public var language: String
    /// The region subtag when it is an ISO 3166-1 code, upper-case: `CH`.
    public var region: String?
    public var quality: Double

    /// At most this many entries are read (a header is the sender's to make as long as it likes).
    static let maximumEntries = 16

    /// The entries of `header` by preference (highest quality first; ties keep the header's order); entries
    /// with quality 0 and malformed ones are left out.
    public static func parse(_ header: String) -> [LanguageRange] {
        var ranges: [LanguageRange] = []
        for item in header.utf8.count > 1_024 ? [] : header.split(separator: ",").prefix(maximumEntries) {
            let parts = item.split(separator: ";")
            let tag = parts.first?.trimmingCharacters(in: .whitespaces) ?? ""
            var quality = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.trimmingCharacters(in: .whitespaces)
                if pair.hasPrefix("q="), let value = Double(pair.dropFirst(2)) { quality = value }
            }
            let subtags = tag.split(separator: "-")
            guard quality > 0, let primary = subtags.first, (2...3).contains(primary.count),
                primary.allSatisfy({ $0.isASCII && $0.isLetter })
            else { continue }
            let region = subtags.dropFirst().first { $0.count == 2 }.map { $0.uppercased() }
            ranges.append(LanguageRange(
                language: primary.lowercased(), region: region.flatMap { Country.assigned.contains($0) ? $0 : nil }, quality: quality))
        }
        return ranges.enumerated().sorted { ($0.element.quality, -$0.offset) > ($1.element.quality, -$1.offset) }.map(\.element)
    }

    /// The country a signer probably lives in, from the first entry that names one (`fr-CH` → `CH`).
    public static func region(from header: String?) -> String? {
        parse(header ?? "").lazy.compactMap(\.region).first
    }
}

/// Where the module's data files are: beside the program, in `undersigned_Pages.resources`, as SwiftPM lays
/// them out (the Dockerfile copies that folder next to the binary).
enum Resources {
    static func url(_ name: String) -> URL {
        Bundle.module.resourceURL!.appendingPathComponent(name)
    }
}
