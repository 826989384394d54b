import AsyncHTTPClient
import Foundation
import IOCore
import Logging
import Metrics
import Models
import NIOCore
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store

/// Works through the webhook outbox: POSTs each due call, signed (`WebhookSignature`) with its owner's
/// secret and carrying an `Idempotency-Key`, and records the outcome. A 2xx is delivered; a 5xx, 408,
/// 429 or a network failure is tried again after an exponential back-off with jitter (or the receiver's
/// `Retry-After`) until the call's give-up time, then failed; any other 4xx fails at once (the receiver
/// refuses it; an operator can `undersigned webhooks retry` once it is fixed). Several delivery
/// instances share the outbox: each call is leased to one of them at a time.
struct WebhookDispatcher: Service {
    struct Settings: Sendable {
        /// How often the outbox is looked at when it had nothing due.
        var poll: Duration = .milliseconds(500)
        /// First retry delay; doubles with each attempt, up to `maximumDelay`.
        var baseDelay: Duration = .seconds(2)
        var maximumDelay: Duration = .seconds(300)
        /// One call's timeout.
        var timeout: Duration = .seconds(10)
        /// Where calls may go.
        var policy = OutboundPolicy()
        /// Calls in flight at once.
        var concurrency = 16
    }

    let pool: PostgresPool
    let settings: Settings
    /// The secret an owner's calls are signed with, by kind; nil when it has none (the call fails).
    let secret: @Sendable (_ kind: String, _ owner: String, PostgresConnection) throws -> String?
    let logger: Logger
    /// `receipt-webhooks` off: no call is made; the calls wait in the outbox until it is on again.
    var switches = Switchboard()

    func run() async throws {
        try await workOutbox(poll: settings.poll, logger: logger, failure: "cannot read the webhook outbox") { [switches] in
            guard switches.isOn(.receiptWebhooks) else { return [] }
            return try await pool.withConnection { connection in
                try Webhooks.claimDue(limit: settings.concurrency, lease: settings.timeout * 3, on: connection)
            }
        } work: { call in
            await attempt(call)
        }
    }

    private func attempt(_ call: WebhookDelivery) async {
        let outcome = await send(call)
        Counter(label: "undersigned_webhook_calls_total", dimensions: [("kind", call.kind), ("result", outcome.result)]).increment()
        do {
            try await pool.withConnection { connection in
                try Outbox.webhooks.record(
                    outcome, id: call.id, attempts: call.attempts, backoff: Backoff(base: settings.baseDelay, maximum: settings.maximumDelay),
                    on: connection)
            }
        } catch {
            logger.warning("cannot record a webhook call; its lease runs out and it is made again", metadata: ["id": "\(call.id)", "error": "\(error)"])
        }
        if case .delivered = outcome { return }
        logger.warning("webhook call failed", metadata: [
            "id": "\(call.id)", "kind": "\(call.kind)", "owner": "\(call.owner)", "attempt": "\(call.attempts + 1)", "result": "\(outcome)",
        ])
    }

    private func send(_ call: WebhookDelivery) async -> DeliveryOutcome {
        let secret: String?
        do {
            secret = try await pool.withConnection { connection in try self.secret(call.kind, call.owner, connection) }
        } catch {
            return .retry(status: nil, error: "cannot read the signing secret: \(error)", retryAfter: nil)
        }
        guard let secret else { return .refused(status: nil, error: "\(call.owner) has no webhook secret") }
        return await WebhookPoster(timeout: settings.timeout, policy: settings.policy).post(
            url: call.url, secret: secret, idempotencyKey: call.idempotencyKey, contentType: "application/json", body: .bytes(call.body))
    }
}
