import Crypto
import Foundation

/// How Undersigned signs a webhook: `X-Undersigned-Timestamp: <unix seconds>` and
/// `X-Undersigned-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. A receiver
/// recomputes it over the raw body, compares in constant time, and refuses timestamps more than a few
/// minutes old (replays).
public enum WebhookSignature {
    public static let timestampHeader = "X-Undersigned-Timestamp"
    public static let signatureHeader = "X-Undersigned-Signature"

    public static func sign(secret: String, timestamp: Int64, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message += body
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + code.map { String(format: "%02x", $0) }.joined()
    }

    public static func newSecret() -> String { "whsec_" + PartnerCredentials.newPassword() }
}
