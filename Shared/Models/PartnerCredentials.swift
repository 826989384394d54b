import Crypto
import Foundation

/// A partner's secrets: a RabbitMQ password and an API key, made from the system's secure generator and
/// shown once. Only the API key's SHA-256 is kept (the key has 256 bits, so a slow hash adds nothing).
public enum PartnerCredentials {
    /// `^[a-z][a-z0-9-]{1,31}$`: the partner's RabbitMQ login, routing-key prefix and queue-name part.
    /// Names a partner cannot have: the broker's default and administrative users, and (by prefix)
    /// `undersigned…` and `rabbitmq…`, which are, or could become, the services' own logins.
    public static let reservedNames: Set<String> = ["guest", "admin", "administrator", "root", "management", "monitoring", "operator", "ops"]

    public static func validateName(_ name: String) throws(ValidationProblem) -> String {
        guard (2...32).contains(name.utf8.count), let first = name.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
            name.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || ASCII.isDigit($0) || $0 == UInt8(ascii: "-") })
        else {
            throw ValidationProblem(field: "partner", reason: "must be 2 to 32 lower-case letters, digits or dashes, starting with a letter")
        }
        guard !reservedNames.contains(name), !name.hasPrefix("undersigned"), !name.hasPrefix("rabbitmq") else {
            throw ValidationProblem(field: "partner", reason: "is reserved for the broker's own and the services' users")
        }
        return name
    }

    /// `usk_` and 43 base64url characters.
    public static func newAPIKey() -> String { "usk_" + randomToken() }

    public static func newPassword() -> String { randomToken() }

    public static func hash(apiKey: String) -> [UInt8] { Array(SHA256.hash(data: Array(apiKey.utf8))) }

    /// 256 bits from the system's secure generator, as 43 base64url characters.
    public static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
