import Foundation
import Models
import Postgres

/// A signature waiting for its signer's confirmation, with what is needed to write to them.
public struct PendingVerification: Sendable {
    public var id: Int64
    public var signatureID: Int64
    public var petition: String
    public var petitionTitle: String
    public var name: String
    public var signerKey: SignerKey
    public var sealedEmail: [UInt8]?
    public var expiresAt: Date
    public var attempts: Int
    /// The language the signer signed in (nil: unknown); `petitionTitle` is the title they were shown.
    public var language: String?
}

/// A signature as it is when its signer confirms it.
public struct VerifiableSignature: Sendable {
    public var event: SignatureAccepted
    public var petitionTitle: String
    public var verified: Bool
}

/// Signer verification: the mails to send, confirming, and removing what was never confirmed.
public enum Verifications {
    public static func pending(id: Int64, on connection: PostgresConnection) throws -> PendingVerification? {
        try connection.query("""
            SELECT v.id, v.signature_id, p.slug, COALESCE(t.title, p.title), s.name, s.signer_key, s.contact_email, v.expires_at, v.attempts,
                   s.language
            FROM verification_emails v JOIN signatures s ON s.id = v.signature_id JOIN petitions p ON p.id = s.petition_id
                 LEFT JOIN petition_texts t ON t.id = s.text_id
            WHERE v.id = \(id)
            """).first.map { row in
            PendingVerification(
                id: try row.decode(Int64.self, 0), signatureID: try row.decode(Int64.self, 1), petition: try row.decode(String.self, 2),
                petitionTitle: try row.decode(String.self, 3), name: try row.decode(String.self, 4),
                signerKey: SignerKey(bytes: try row.decode(ByteA.self, 5).bytes), sealedEmail: try row.decodeIfPresent(ByteA.self, 6)?.bytes,
                expiresAt: try row.decode(Date.self, 7), attempts: try row.decode(Int.self, 8), language: try row.decodeIfPresent(String.self, 9))
        }
    }

    /// The signature a link points at (nil when it is gone: never confirmed in time, or erased).
    public static func signature(id: Int64, on connection: PostgresConnection) throws -> VerifiableSignature? {
        try connection.query("""
            SELECT s.id, s.submission_id, p.slug, s.country, s.source, extract(epoch FROM s.signed_at)::float8,
                   extract(epoch FROM s.accepted_at)::float8, p.title, s.verified_at IS NOT NULL
            FROM signatures s JOIN petitions p ON p.id = s.petition_id WHERE s.id = \(id) AND p.requires_verification
            """).first.map { row in
            VerifiableSignature(
                event: SignatureAccepted(
                    signatureID: try row.decode(Int64.self, 0), submissionID: try row.decode(UUID.self, 1), petition: try row.decode(String.self, 2),
                    country: try row.decode(String.self, 3), source: try row.decode(String.self, 4),
                    signedAt: Date(timeIntervalSince1970: try row.decode(Double.self, 5)),
                    acceptedAt: Date(timeIntervalSince1970: try row.decode(Double.self, 6))),
                petitionTitle: try row.decode(String.self, 7), verified: try row.decode(Bool.self, 8))
        }
    }

    /// Marks the signature confirmed and drops its sealed address unless the signer agreed to be contacted.
    public static func confirm(signatureID: Int64, on connection: PostgresConnection) throws {
        try connection.query("""
            UPDATE signatures SET verified_at = COALESCE(verified_at, now()), contact_email = CASE WHEN contact_opt_in THEN contact_email END
            WHERE id = \(signatureID)
            """)
    }

    /// Removes signatures whose link ran out unconfirmed (they were never counted). Returns how many.
    @discardableResult
    public static func removeExpired(on connection: PostgresConnection) throws -> Int {
        try connection.query("""
            DELETE FROM signatures s USING verification_emails v
            WHERE v.signature_id = s.id AND v.expires_at < now() AND s.verified_at IS NULL
            """).affectedRows
    }
}
