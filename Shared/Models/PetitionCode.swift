import Foundation

/// A petition's short code: 3 to 16 lower-case letters and digits.
public enum PetitionCode {
    /// Letters and digits a person reads back without confusing them (no 0/o, 1/l/i).
    static let alphabet = Array("23456789abcdefghjkmnpqrstuvwxyz")

    public static func validate(_ code: String) throws(ValidationProblem) -> String {
        guard (3...16).contains(code.utf8.count), code.utf8.allSatisfy({ ASCII.isDigit($0) || (97...122).contains($0) }) else {
            throw ValidationProblem(field: "code", reason: "must be 3 to 16 lower-case letters or digits")
        }
        return code
    }

    /// Six random characters (about 2^29 codes).
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<6).map { _ in alphabet.randomElement(using: &generator)! })
    }
}

/// A language code as stored: 2 or 3 lower-case ASCII letters.
public enum PetitionLanguage {
    public static func validate(_ language: String) throws(ValidationProblem) -> String {
        guard (2...3).contains(language.utf8.count), language.utf8.allSatisfy({ (97...122).contains($0) }) else {
            throw ValidationProblem(field: "language", reason: "must be a 2 or 3 letter language code such as fr")
        }
        return language
    }
}
