import Foundation
import Models
import Postgres
import Store

/// A signature ready for the table: validated, with its signer key.
struct SignatureRow: Sendable {
    var signature: Signature
    var signerKey: SignerKey
    /// The address sealed with the data key, when the signer agreed to be contacted and a key is configured.
    var contactEmail: ByteA? = nil
    /// The broker-validated partner login, for partner envelopes.
    var partner: String?
    var envelopeID: UUID
    /// Index in the envelope's `signatures` array.
    var position: Int
}

/// A signature of an envelope that was not taken.
struct RejectedRow: Sendable {
    var envelopeID: UUID
    var position: Int
    var problem: ValidationProblem
    var partner: String?
}

/// What one batch did to the signatures table.
struct BatchOutcome: Sendable {
    /// New signatures, and redeliveries of ones already accepted (same submission id): one event each.
    var accepted: [SignatureAccepted]
    var newCount: Int
    var redeliveredCount: Int
    /// Same signer, other submission: not a new signature.
    var duplicateCount: Int
    /// Duplicates whose signer signed through another channel (the web, another partner): a partner's
    /// receipt reports these as accepted, so it learns nothing of who signed elsewhere.
    var signedElsewhere: Set<UUID> = []
    /// New signatures held until their signer confirms (a petition that requires verification): stored, not
    /// counted yet, no event. A partner's receipt reports them accepted.
    var heldForVerification: Set<UUID> = []
    /// Signatures for a petition that does not exist.
    var unknownPetition: [UUID]
    /// Signatures for a petition closed before they were signed (or, from a partner, closed now).
    var closedPetition: [UUID] = []
    /// A partner's signatures for a petition that does not take any yet (`opens_at` to come).
    var notYetOpen: [UUID] = []
    /// Signatures of a signer erased after they signed (in flight at the erase): never stored. A partner's
    /// receipt says accepted, as for anyone (it must not learn that the person asked to be erased).
    var erased: Set<UUID> = []
    /// Rows recorded in `rejected_signatures` now (not on a redelivery).
    var rejectedCount: Int
    /// Rows turned away by petition and reason (`duplicate`, `closed`, `not_open`, `erased`), for the
    /// call's history (`refusal_minutes`).
    var turnedAway: [String: [String: Int64]] = [:]

    /// The rows refused for their petition (none such, or closed), with the reason.
    var petitionRefusals: [UUID: ValidationProblem] {
        var refusals: [UUID: ValidationProblem] = [:]
        for id in unknownPetition { refusals[id] = ValidationProblem(field: "petition", reason: "there is no such petition") }
        for id in closedPetition { refusals[id] = ValidationProblem(field: "petition", reason: "the petition is closed") }
        for id in notYetOpen { refusals[id] = ValidationProblem(field: "petition", reason: "the petition is not open yet") }
        return refusals
    }
}

/// Writes signatures: one set-based insert per batch, unique per (petition, signer key).
enum SignatureStore {
    /// Petitions that count a signature only once its signer confirmed it.
    static func verifyingPetitions(on connection: PostgresConnection) throws -> Set<String> {
        Set(try connection.query("SELECT slug FROM petitions WHERE requires_verification").map { try $0.decode(String.self, 0) })
    }

    /// Inserts the batch. New signatures of petitions in `verifying` are not accepted yet (no event): a
    /// verification mail is queued for each instead, and intake publishes the event when the signer confirms.
    static func insert(
        _ rows: [SignatureRow], rejected: [RejectedRow], verifying: Set<String> = [],
        verificationTime: Duration = DedupConfiguration.Defaults.verificationTime,
        on connection: PostgresConnection
    ) throws -> BatchOutcome {
        var outcome = try insert(rows, on: connection)
        if !verifying.isEmpty {
            let waiting = outcome.accepted.filter { verifying.contains($0.petition) }
            outcome.accepted.removeAll { verifying.contains($0.petition) }
            outcome.heldForVerification = Set(waiting.map(\.submissionID))
            if !waiting.isEmpty {
                try connection.query("""
                    INSERT INTO verification_emails (signature_id, expires_at, give_up_at)
                    SELECT unnest(\(waiting.map(\.signatureID))::bigint[]), now() + make_interval(secs => \(verificationTime.inSeconds)),
                           now() + make_interval(secs => \(verificationTime.inSeconds))
                    ON CONFLICT (signature_id) DO NOTHING
                    """)
            }
        }
        let refused = outcome.petitionRefusals
        let all = rejected + rows.compactMap { row in
            refused[row.signature.submissionID].map { RejectedRow(envelopeID: row.envelopeID, position: row.position, problem: $0, partner: row.partner) }
        }
        outcome.rejectedCount = try record(all, on: connection)
        try CallHistory.addRefusals(outcome.turnedAway, on: connection)
        return outcome
    }

    private static func record(_ rejected: [RejectedRow], on connection: PostgresConnection) throws -> Int {
        guard !rejected.isEmpty else { return 0 }
        return try connection.query("""
            INSERT INTO rejected_signatures (envelope_id, position, field, reason, partner)
            SELECT * FROM unnest(\(rejected.map(\.envelopeID))::uuid[], \(rejected.map(\.position))::integer[],
                                 \(rejected.map(\.problem.field))::text[], \(rejected.map(\.problem.reason))::text[],
                                 \(rejected.map(\.partner))::text[])
            ORDER BY 1, 2
            ON CONFLICT DO NOTHING
            """).affectedRows
    }

    private static func insert(_ rows: [SignatureRow], on connection: PostgresConnection) throws -> BatchOutcome {
        let inserted = try connection.query("""
            WITH input AS (
                SELECT * FROM unnest(\(rows.map(\.signature.submissionID))::uuid[], \(rows.map(\.signature.petition))::text[],
                                     \(rows.map { ByteA($0.signerKey.bytes) })::bytea[], \(rows.map(\.signature.name))::text[],
                                     \(rows.map(\.signature.country))::text[], \(rows.map(\.signature.postalCode))::text[],
                                     \(rows.map(\.signature.contactOptIn))::boolean[], \(rows.map(\.signature.source))::text[],
                                     \(rows.map(\.partner))::text[], \(rows.map(\.signature.signedAt.timeIntervalSince1970))::float8[],
                                     \(rows.map(\.contactEmail))::bytea[], \(rows.map(\.signature.language))::text[],
                                     \(rows.map(\.signature.textVersion))::bigint[])
                    WITH ORDINALITY AS t(submission_id, petition, signer_key, name, country, postal_code, contact_opt_in, source, partner, signed_at,
                                         contact_email, language, text_id, ord)
            )
            INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, postal_code, contact_opt_in,
                                    source, partner, signed_at, contact_email, language, text_id)
            SELECT p.id, i.signer_key, i.submission_id, i.name, i.country, i.postal_code, i.contact_opt_in, i.source,
                   i.partner, to_timestamp(i.signed_at), i.contact_email, i.language,
                   -- a text version is kept only when it is one of this petition's (a sender's word is not enough)
                   (SELECT t.id FROM petition_texts t WHERE t.id = i.text_id AND t.petition_id = p.id)
            FROM input i JOIN petitions p ON p.slug = i.petition
            WHERE NOT \(sql: Self.erasedAfterSigning) AND \(sql: Self.petitionTakes)
            -- one lock order for every instance, so concurrent batches cannot deadlock on the unique index;
            -- within a batch, the first of a signer's signatures (in envelope order) is the one kept
            ORDER BY p.id, i.signer_key, i.ord
            ON CONFLICT (petition_id, signer_key) DO NOTHING
            RETURNING id, submission_id, extract(epoch FROM accepted_at)::float8
            """)
        var outcome = BatchOutcome(accepted: [], newCount: 0, redeliveredCount: 0, duplicateCount: 0, unknownPetition: [], rejectedCount: 0)
        guard !rows.isEmpty else { return outcome }
        var bySubmission: [UUID: SignatureRow] = [:]
        for row in rows { bySubmission[row.signature.submissionID] = row }
        var done = Set<UUID>()
        for row in inserted {
            let submission = UUID.parse(try row.decode(String.self, 1))
            guard let submission, let input = bySubmission[submission], done.insert(submission).inserted else { continue }
            outcome.accepted.append(event(id: try row.decode(Int64.self, 0), input.signature, acceptedAt: Date(timeIntervalSince1970: try row.decode(Double.self, 2))))
            outcome.newCount += 1
        }
        let rest = rows.filter { !done.contains($0.signature.submissionID) }
        guard !rest.isEmpty else { return outcome }

        // Not inserted: the signer is already there (a redelivery if the submission id matches, else a
        // duplicate), or the petition does not exist.
        let existing = try connection.query("""
            SELECT k.ord, s.id, s.submission_id, extract(epoch FROM s.accepted_at)::float8,
                   NOT p.requires_verification OR s.verified_at IS NOT NULL, s.partner
            FROM unnest(\(rest.map(\.signature.petition))::text[], \(rest.map { ByteA($0.signerKey.bytes) })::bytea[])
                 WITH ORDINALITY AS k(petition, signer_key, ord)
            JOIN petitions p ON p.slug = k.petition
            JOIN signatures s ON s.petition_id = p.id AND s.signer_key = k.signer_key
            """)
        var found = Set<Int>()
        for row in existing {
            let index = try row.decode(Int.self, 0) - 1
            found.insert(index)
            let input = rest[index]
            if UUID.parse(try row.decode(String.self, 2)) == input.signature.submissionID {
                // A redelivery: the event again, unless the signature still waits for its signer's confirmation.
                if try row.decode(Bool.self, 4) {
                    outcome.accepted.append(event(id: try row.decode(Int64.self, 1), input.signature, acceptedAt: Date(timeIntervalSince1970: try row.decode(Double.self, 3))))
                }
                outcome.redeliveredCount += 1
            } else {
                outcome.duplicateCount += 1
                outcome.turnedAway[input.signature.petition, default: [:]]["duplicate", default: 0] += 1
                // Another channel's signature (the web, another partner) holds this signer: a partner is not told.
                if let partner = input.partner, try row.decodeIfPresent(String.self, 5) != partner {
                    outcome.signedElsewhere.insert(input.signature.submissionID)
                }
            }
        }
        try classify(rest.enumerated().filter { !found.contains($0.offset) }.map(\.element), outcome: &outcome, on: connection)
        try claim(rest.filter { outcome.signedElsewhere.contains($0.signature.submissionID) }, outcome: &outcome, on: connection)
        return outcome
    }

    /// Whether the signer of input row `i` was erased after it signed (a date in the future counts as now:
    /// a partner's `signed_at` cannot step over an erase). Such a row is never stored.
    static let erasedAfterSigning: StaticString = """
        EXISTS (SELECT 1 FROM erasures e WHERE e.signer_key = i.signer_key AND LEAST(to_timestamp(i.signed_at), now()) <= e.erased_at)
        """

    /// Whether petition `p` takes input row `i`: open now, or, for a signature intake took (no partner),
    /// signed before it closed (it was in flight at the closing; with a minute's grace, since intake may know
    /// a petition's state up to 5 s late and its clock is not the database's: a 202 is a promise). A
    /// partner's row for a closed petition, or one not open yet, is refused: the partner's own `signed_at`
    /// cannot reopen it, nor add names to a petition already anonymised. No partner sends to a rehearsal.
    static let petitionTakes: StaticString = """
        (i.partner IS NULL OR p.rehearsal_of IS NULL) AND ((p.status = 'open' AND (p.closes_at IS NULL OR p.closes_at > now()) AND (i.partner IS NULL OR p.opens_at IS NULL OR p.opens_at <= now()))
             OR (i.partner IS NULL AND to_timestamp(i.signed_at) <= LEAST(p.closed_at, p.closes_at) + interval '1 minute'))
        """

    /// Rows neither stored nor already there: why (no such petition, erased signer, closed petition).
    private static func classify(_ rows: [SignatureRow], outcome: inout BatchOutcome, on connection: PostgresConnection) throws {
        guard !rows.isEmpty else { return }
        let reasons = try connection.query("""
            SELECT i.ord, p.id IS NULL OR (p.rehearsal_of IS NOT NULL AND i.partner IS NOT NULL),
                   p.id IS NOT NULL AND \(sql: Self.erasedAfterSigning),
                   p.id IS NOT NULL AND p.status = 'open' AND COALESCE(p.opens_at > now(), false)
            FROM unnest(\(rows.map(\.signature.petition))::text[], \(rows.map { ByteA($0.signerKey.bytes) })::bytea[],
                        \(rows.map(\.signature.signedAt.timeIntervalSince1970))::float8[], \(rows.map(\.partner))::text[])
                 WITH ORDINALITY AS i(petition, signer_key, signed_at, partner, ord)
            LEFT JOIN petitions p ON p.slug = i.petition
            """)
        for row in reasons {
            let signature = rows[try row.decode(Int.self, 0) - 1].signature
            let submission = signature.submissionID
            let reason: String
            if try row.decode(Bool.self, 1) {
                outcome.unknownPetition.append(submission)
                continue
            } else if try row.decode(Bool.self, 2) {
                outcome.erased.insert(submission)
                reason = "erased"
            } else if try row.decode(Bool.self, 3) {
                outcome.notYetOpen.append(submission)
                reason = "not_open"
            } else {
                outcome.closedPetition.append(submission)
                reason = "closed"
            }
            outcome.turnedAway[signature.petition, default: [:]][reason, default: 0] += 1
        }
    }

    /// A partner's rows for people who signed through another channel: the first time a partner sends a
    /// person it is remembered (`partner_claims`) and stays in `signedElsewhere` (receipted as accepted);
    /// a later row of that partner for the same person (in this batch or after) is its own duplicate. So a
    /// partner sending someone twice sees what it would see for anyone: accepted, then duplicate.
    private static func claim(_ rows: [SignatureRow], outcome: inout BatchOutcome, on connection: PostgresConnection) throws {
        guard !rows.isEmpty else { return }
        let claimed = try connection.query("""
            SELECT k.ord, c.submission_id FROM unnest(\(rows.map(\.signature.petition))::text[], \(rows.map { ByteA($0.signerKey.bytes) })::bytea[],
                                     \(rows.map(\.partner))::text[]) WITH ORDINALITY AS k(petition, signer_key, partner, ord)
            JOIN petitions p ON p.slug = k.petition
            JOIN partner_claims c ON c.petition_id = p.id AND c.signer_key = k.signer_key AND c.partner = k.partner
            """)
        // Claimed before, by which submission (the same one again is a redelivery: the same receipt).
        var claims: [Int: UUID] = [:]
        for row in claimed { claims[try row.decode(Int.self, 0) - 1] = try row.decode(UUID.self, 1) }
        // The first row of a partner for a person in this batch (a row sent twice is the same submission).
        var firstOf: [[UInt8]: UUID] = [:]
        var new: [SignatureRow] = []
        for (index, row) in rows.enumerated() {
            let key = Array(row.signature.petition.utf8) + [0] + Array((row.partner ?? "").utf8) + [0] + row.signerKey.bytes
            let submission = row.signature.submissionID
            let claimant = claims[index] ?? firstOf[key]
            if let claimant {
                // The partner's own person again: its duplicate, unless it is the very row that claimed them.
                if claimant != submission { outcome.signedElsewhere.remove(submission) }
            } else {
                firstOf[key] = submission
                new.append(row)
            }
        }
        guard !new.isEmpty else { return }
        // Another dedup instance may claim the same person for the same partner at the same moment: the
        // insert decides (the unique key waits for the other transaction), and whoever did not win reads
        // the winner's claim below and receipts its row as the partner's duplicate.
        try connection.query("""
            INSERT INTO partner_claims (petition_id, signer_key, partner, submission_id)
            SELECT p.id, k.signer_key, k.partner, k.submission_id
            FROM unnest(\(new.map(\.signature.petition))::text[], \(new.map { ByteA($0.signerKey.bytes) })::bytea[],
                        \(new.map(\.partner))::text[], \(new.map(\.signature.submissionID))::uuid[]) AS k(petition, signer_key, partner, submission_id)
            JOIN petitions p ON p.slug = k.petition
            ORDER BY 1, 2, 3
            ON CONFLICT DO NOTHING
            """)
        let holders = try connection.query("""
            SELECT k.ord, c.submission_id FROM unnest(\(new.map(\.signature.petition))::text[], \(new.map { ByteA($0.signerKey.bytes) })::bytea[],
                                     \(new.map(\.partner))::text[]) WITH ORDINALITY AS k(petition, signer_key, partner, ord)
            JOIN petitions p ON p.slug = k.petition
            JOIN partner_claims c ON c.petition_id = p.id AND c.signer_key = k.signer_key AND c.partner = k.partner
            """)
        for row in holders {
            let input = new[try row.decode(Int.self, 0) - 1]
            if try row.decode(UUID.self, 1) != input.signature.submissionID { outcome.signedElsewhere.remove(input.signature.submissionID) }
        }
    }

    private static func event(id: Int64, _ signature: Signature, acceptedAt: Date) -> SignatureAccepted {
        SignatureAccepted(
            signatureID: id, submissionID: signature.submissionID, petition: signature.petition,
            country: signature.country, source: signature.source, signedAt: signature.signedAt, acceptedAt: acceptedAt)
    }
}
