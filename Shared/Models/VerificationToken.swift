import Crypto
import Foundation

/// The token in a signer's verification link: `<signature id>.<expiry, Unix seconds>.<MAC>`, the MAC an
/// HMAC-SHA256 (first 16 bytes, base64url) with `UNDERSIGNED_VERIFICATION_SECRET`. Nothing is stored for
/// it: the link names its signature and end, and cannot be made or altered without the secret. Single use
/// comes from the signature's `verified_at`.
public struct VerificationToken: @unchecked Sendable {  // SymmetricKey is immutable once made
    private let key: SymmetricKey

    public init(secret: [UInt8]) {
        key = SymmetricKey(data: secret)
    }

    public func token(signatureID: Int64, expiresAt: Date) -> String {
        let payload = "\(signatureID).\(Int64(expiresAt.timeIntervalSince1970))"
        return payload + "." + mac(payload)
    }

    /// The signature id and expiry of a well-formed, authentic token; nil otherwise.
    public func read(_ token: String) -> (signatureID: Int64, expiresAt: Date)? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let id = Int64(parts[0]), let expiry = Int64(parts[1]), token.utf8.count < 128 else { return nil }
        let expected = Array(mac("\(parts[0]).\(parts[1])").utf8), offered = Array(parts[2].utf8)
        guard expected.count == offered.count, zip(expected, offered).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        return (id, Date(timeIntervalSince1970: Double(expiry)))
    }

    private func mac(_ payload: String) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Array(payload.utf8), using: key).prefix(16)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
