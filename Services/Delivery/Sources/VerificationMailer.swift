import Foundation
import IOCore
import Logging
import Metrics
import Models
import Pages
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store

/// Sends the mails that ask a signer to confirm (petitions that require it): the address is opened from
/// its sealed box (`UNDERSIGNED_DATA_KEYS`), the link carries a `VerificationToken`
/// (`UNDERSIGNED_VERIFICATION_SECRET`) to intake's confirmation page (`UNDERSIGNED_PUBLIC_URL`). Worked
/// from the `verification_emails` outbox like the other deliveries: leased, retried with back-off, failed
/// once the link has run out.
struct VerificationMailer: Service {
    struct Settings: Sendable {
        var smtp: SMTPSettings?
        var sealer: ContactSealer?
        var tokens: VerificationToken?
        var publicURL: String
        var spool: URL
        var backoff: Backoff
        var poll: Duration = .seconds(1)
    }

    let pool: PostgresPool
    let settings: Settings
    let logger: Logger
    /// `verification-mails` off: none is sent; they wait in the outbox until it is on again.
    var switches = Switchboard()

    func run() async throws {
        try await workOutbox(poll: settings.poll, logger: logger, failure: "cannot read the verification mails to send") { [switches] in
            guard switches.isOn(.verificationMails) else { return [] }
            return try await pool.withConnection { connection in try Outbox.verifications.claimDue(limit: 8, lease: .seconds(60), on: connection) }
        } work: { id in
            await send(id)
        }
    }

    func send(_ id: Int64) async {
        guard let pending = try? await pool.withConnection({ connection in try Verifications.pending(id: id, on: connection) }) else { return }
        let outcome = await attempt(pending)
        Counter(label: "undersigned_verification_mails_total", dimensions: [("result", outcome.result)]).increment()
        do {
            try await pool.withConnection { connection in
                try Outbox.verifications.record(outcome, id: id, attempts: pending.attempts, backoff: settings.backoff, on: connection)
            }
        } catch {
            logger.warning("cannot record a verification mail; it is sent again", metadata: ["id": "\(id)", "error": "\(error)"])
        }
        if case .delivered = outcome { return }
        logger.warning("verification mail not sent", metadata: ["signature": "\(pending.signatureID)", "result": "\(outcome)"])
    }

    private func attempt(_ pending: PendingVerification) async -> DeliveryOutcome {
        guard pending.expiresAt > Date() else { return .refused(status: nil, error: "the link ran out before the mail could be sent") }
        guard let smtp = settings.smtp else { return .retry(status: nil, error: "no SMTP relay is configured (UNDERSIGNED_SMTP_URL)", retryAfter: nil) }
        guard let tokens = settings.tokens else {
            return .retry(status: nil, error: "UNDERSIGNED_VERIFICATION_SECRET is not set", retryAfter: nil)
        }
        guard let sealed = pending.sealedEmail, let address = settings.sealer?.open(sealed, signerKey: pending.signerKey) else {
            return .refused(status: nil, error: "the address cannot be opened (UNDERSIGNED_DATA_KEYS)")
        }
        let link = settings.publicURL + "/v1/verify/" + tokens.token(signatureID: pending.signatureID, expiresAt: pending.expiresAt)
        // Only the campaign's words and the link: nothing the signer typed (a name is anyone's to choose, and
        // the relay must not carry a stranger's text to whatever address they gave).
        let catalogue = Catalogues.shared[pending.language ?? Catalogues.fallback]
        let hours = max(1, Int((pending.expiresAt.timeIntervalSinceNow / 3600).rounded()))
        let body = (catalogue.text("verify_mail_body", ["title": pending.petitionTitle, "link": link, "hours": String(hours)]) + "\n")
            .replacingOccurrences(of: "\n", with: "\r\n")
        let subject = catalogue["verify_mail_subject"] + ": " + pending.petitionTitle
        let message = settings.spool.appendingPathComponent(".verify-\(pending.id)-\(UUID().uuidString.prefix(8)).eml")
        defer { try? FileManager.default.removeItem(at: message) }
        do {
            try FileManager.default.createDirectory(at: settings.spool, withIntermediateDirectories: true)
            try FileWriter.atomically(message) { writer in
                try writer.write("""
                    From: \(smtp.from)\r
                    To: \(address)\r
                    Subject: \(MIMEMessage.encodedWord(subject))\r
                    Content-Language: \(catalogue.language)\r
                    Message-ID: <verify-\(pending.signatureID).\(pending.id)@undersigned>\r
                    MIME-Version: 1.0\r
                    Content-Type: text/plain; charset=utf-8\r
                    Content-Transfer-Encoding: base64\r
                    \r
                    \(Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))\r

                    """)
            }
        } catch {
            return .retry(status: nil, error: "cannot write the message: \(error.localizedDescription)", retryAfter: nil)
        }
        return await SMTPClient(settings: smtp).deliver(to: address, message: message)
    }
}
