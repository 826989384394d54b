import Foundation
import Models
import Postgres

/// Queries on `email_domain_rules`: the mail providers' rules as data (`EmailProviderRules`).
public enum EmailRules {
    /// The rules in force. A domain listed both as a provider and as another's alias keeps the provider.
    public static func load(on connection: PostgresConnection) throws -> EmailProviderRules {
        EmailProviderRules(providers: try connection.query("""
            SELECT domain, array_to_json(aliases)::text, drop_characters, array_to_json(tag_separators)::text
            FROM email_domain_rules ORDER BY domain
            """).map { row in
            EmailProviderRules.Provider(
                domain: try row.decode(String.self, 0), aliases: strings(try row.decode(String.self, 1)),
                tagSeparators: strings(try row.decode(String.self, 3)), dropCharacters: try row.decode(String.self, 2))
        })
    }

    /// Adds or replaces a provider's rules. Domains are lower-cased and checked.
    public static func save(_ provider: EmailProviderRules.Provider, on connection: PostgresConnection) throws(ValidationProblem) {
        let domain = provider.domain.trimmingWhitespace().lowercased()
        let aliases = provider.aliases.map { $0.trimmingWhitespace().lowercased() }.filter { !$0.isEmpty }
        for name in [domain] + aliases where !name.contains(".") || name.contains("@") || name.contains(where: \.isWhitespace) {
            throw ValidationProblem(field: "domain", reason: "\(name) is not a domain such as example.org")
        }
        for separator in provider.tagSeparators where separator.count != 1 {
            throw ValidationProblem(field: "tag_separators", reason: "each tag separator is one character")
        }
        let drop = provider.dropCharacters + (provider.ignoresDots && !provider.dropCharacters.contains(".") ? "." : "")
        if drop.contains("@") { throw ValidationProblem(field: "drop_characters", reason: "@ cannot be dropped") }
        do {
            try connection.query("""
                INSERT INTO email_domain_rules (domain, aliases, drop_characters, tag_separators)
                VALUES (\(domain), \(aliases)::text[], \(drop), \(provider.tagSeparators)::text[])
                ON CONFLICT (domain) DO UPDATE SET aliases = EXCLUDED.aliases, drop_characters = EXCLUDED.drop_characters,
                    tag_separators = EXCLUDED.tag_separators, updated_at = now()
                """)
        } catch {
            throw ValidationProblem(field: "database", reason: "\(error)")
        }
    }

    public static func remove(domain: String, on connection: PostgresConnection) throws -> Bool {
        try connection.query("DELETE FROM email_domain_rules WHERE domain = \(domain.trimmingWhitespace().lowercased())").affectedRows == 1
    }

    private static func strings(_ json: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(json.utf8))) ?? []
    }
}
