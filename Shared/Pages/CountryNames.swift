import Foundation
import Models
import Synchronization

/// The assigned countries with their names in a language, sorted as a reader of that language expects,
/// from the Unicode CLDR data Foundation carries (no catalogue of 249 names per language to keep).
public enum CountryNames {
    public struct Entry: Sendable, Equatable {
        public var code: String
        public var name: String
    }

    private static let cache = Mutex<[String: [Entry]]>([:])

    public static func sorted(in language: String) -> [Entry] {
        if let entries = cache.withLock({ $0[language] }) { return entries }
        let locale = Locale(identifier: language)
        let entries = Country.assigned.map { code in Entry(code: code, name: locale.localizedString(forRegionCode: code) ?? code) }
            .sorted { $0.name.compare($1.name, locale: locale) == .orderedAscending }
        cache.withLock { $0[language] = entries }
        return entries
    }

    /// The name of one country in `language`.
    public static func name(of code: String, in language: String) -> String {
        Locale(identifier: language).localizedString(forRegionCode: code) ?? code
    }
}
