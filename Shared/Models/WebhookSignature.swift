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
        var signer = Signer(secret: secret, timestamp: timestamp)
        signer.update(body)
        return signer.signature()
    }

    /// The same signature over a body read in pieces (a delivery package of hundreds of megabytes).
    public struct Signer {
        private var hmac: HMAC<SHA256>

        public init(secret: String, timestamp: Int64) {
            hmac = HMAC(key: SymmetricKey(data: Array(secret.utf8)))
            hmac.update(data: Array("\(timestamp).".utf8))
        }

        public mutating func update(_ bytes: some DataProtocol) {
            hmac.update(data: bytes)
        }

        /// `sha256=<hex>`, the header's value.
        public func signature() -> String {
            "sha256=" + hmac.finalize().hexString
        }
    }

    public static func newSecret() -> String { "whsec_" + PartnerCredentials.newPassword() }
}
