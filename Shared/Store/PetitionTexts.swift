import Foundation
import Models
import Postgres

public enum PetitionTexts {
    public static let maximumTitleLength = 300
    public static let maximumBodyLength = 20_000
    public static let maximumConsentLength = 1_000

    /// Every version of the petition's texts, oldest first.
    public static func all(petitionID: Int64, on connection: PostgresConnection) throws -> PetitionTextSet {
        PetitionTextSet(versions: try connection.query("""
            SELECT id, language, title, body, consent FROM petition_texts WHERE petition_id = \(petitionID) ORDER BY id
            """).map { row in
                PetitionText(
                    id: try row.decode(Int64.self, 0), language: try row.decode(String.self, 1), title: try row.decode(String.self, 2),
                    body: try row.decode(String.self, 3), consent: try row.decode(String.self, 4))
            })
    }

    /// Records `text` as the petition's current version in its language, unless the current one reads the
    /// same. Returns the id of the current version.
    @discardableResult
    public static func add(_ text: PetitionText, to petitionID: Int64, on connection: PostgresConnection) throws -> Int64 {
        let language = try PetitionLanguage.validate(text.language)
        guard !text.title.isEmpty, text.title.count <= maximumTitleLength, text.body.count <= maximumBodyLength,
            !text.consent.isEmpty, text.consent.count <= maximumConsentLength
        else {
            throw ValidationProblem(
                field: "text", reason: "a title of 1 to \(maximumTitleLength) characters, a text of at most \(maximumBodyLength), "
                    + "a consent wording of 1 to \(maximumConsentLength)")
        }
        return try connection.transaction { connection in
            // One writer at a time per petition, so two concurrent edits cannot both see "unchanged".
            try connection.query("SELECT id FROM petitions WHERE id = \(petitionID) FOR UPDATE")
            let current = try connection.query("""
                SELECT id, title, body, consent FROM petition_texts
                WHERE petition_id = \(petitionID) AND language = \(language) ORDER BY id DESC LIMIT 1
                """).first
            if let current, try current.decode(String.self, 1) == text.title, try current.decode(String.self, 2) == text.body,
                try current.decode(String.self, 3) == text.consent
            {
                return try current.decode(Int64.self, 0)
            }
            return try connection.query("""
                INSERT INTO petition_texts (petition_id, language, title, body, consent)
                VALUES (\(petitionID), \(language), \(text.title), \(text.body), \(text.consent)) RETURNING id
                """)[0].decode(Int64.self, 0)
        }
    }

    /// Signatures per text version among the petition's signatures with ids in `(after, through]`, with
    /// each version's text (for a delivery's manifest). Signatures without a recorded version are under id 0.
    public static func counts(
        petitionID: Int64, after: Int64, through: Int64, countries: [String]?, on connection: PostgresConnection
    ) throws -> [(text: PetitionText?, count: Int64)] {
        try connection.query("""
            SELECT COALESCE(t.id, 0), t.language, t.title, t.body, t.consent, count(*)
            FROM signatures s LEFT JOIN petition_texts t ON t.id = s.text_id
            WHERE s.petition_id = \(petitionID) AND s.id > \(after) AND s.id <= \(through)
              AND (\(countries)::text[] IS NULL OR s.country = ANY(\(countries)::text[]))
            GROUP BY 1, 2, 3, 4, 5 ORDER BY 1
            """).map { row in
                let id = try row.decode(Int64.self, 0)
                let text = id == 0 ? nil : PetitionText(
                    id: id, language: try row.decode(String.self, 1), title: try row.decode(String.self, 2),
                    body: try row.decode(String.self, 3), consent: try row.decode(String.self, 4))
                return (text, try row.decode(Int64.self, 5))
            }
    }
}
