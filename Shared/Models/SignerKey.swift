import Crypto
import Foundation

/// The keyed hash of a canonical email: HMAC-SHA256 with a server secret, 32 bytes.
///
/// It is the unique key of a signature within a petition. Without the secret it cannot be reversed by
/// hashing candidate addresses, so a leaked table does not reveal who signed.
public struct SignerKey: Hashable, Sendable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) {
        precondition(bytes.count == 32, "a signer key is 32 bytes")
        self.bytes = bytes
    }
}

/// Makes `SignerKey`s with one secret. The secret comes from the environment (`UNDERSIGNED_SIGNER_SECRET`).
public struct SignerKeyMaker: @unchecked Sendable {  // SymmetricKey is immutable once made
    private let key: SymmetricKey

    /// The secret must be at least 32 bytes of entropy; a shorter one is refused.
    public init(secret: [UInt8]) throws(ValidationProblem) {
        guard secret.count >= 32 else {
            throw ValidationProblem(field: "UNDERSIGNED_SIGNER_SECRET", reason: "must be at least 32 bytes")
        }
        key = SymmetricKey(data: secret)
    }

    public func key(for email: CanonicalEmail) -> SignerKey {
        SignerKey(bytes: Array(HMAC<SHA256>.authenticationCode(for: Array(email.value.utf8), using: key)))
    }
}
