import AsyncHTTPClient
import Foundation
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
        /// Calls in flight at once.
        var concurrency = 16
    }

    let pool: PostgresPool
    let settings: Settings
    /// The secret an owner's calls are signed with, by kind; nil when it has none (the call fails).
    let secret: @Sendable (_ kind: String, _ owner: String, PostgresConnection) throws -> String?
    let logger: Logger

    func run() async throws {
        try await untilGracefulShutdown {
            while true {
                let due: [WebhookDelivery]
                do {
                    due = try await pool.withConnection { connection in
                        try Webhooks.claimDue(limit: settings.concurrency, lease: settings.timeout * 3, on: connection)
                    }
                } catch {
                    logger.warning("cannot read the webhook outbox", metadata: ["error": "\(error)"])
                    due = []
                }
                await withTaskGroup(of: Void.self) { group in
                    for call in due { group.addTask { await attempt(call) } }
                }
                if due.isEmpty { try await Task.sleep(for: settings.poll) }
            }
        }
    }

    private func attempt(_ call: WebhookDelivery) async {
        let outcome = await send(call)
        Counter(label: "undersigned_webhook_calls_total", dimensions: [("kind", call.kind), ("result", outcome.result)]).increment()
        do {
            try await pool.withConnection { connection in
                switch outcome {
                case .delivered(let status):
                    try Webhooks.delivered(call.id, status: status, on: connection)
                case .retry(let status, let error, let retryAfter):
                    try Webhooks.attemptFailed(call.id, status: status, error: error, retryAfter: retryAfter ?? delay(after: call.attempts),
                                               final: false, on: connection)
                case .refused(let status, let error):
                    try Webhooks.attemptFailed(call.id, status: status, error: error, retryAfter: .zero, final: true, on: connection)
                }
            }
        } catch {
            logger.warning("cannot record a webhook call; its lease runs out and it is made again", metadata: ["id": "\(call.id)", "error": "\(error)"])
        }
        if case .delivered = outcome { return }
        logger.warning("webhook call failed", metadata: [
            "id": "\(call.id)", "kind": "\(call.kind)", "owner": "\(call.owner)", "attempt": "\(call.attempts + 1)", "result": "\(outcome)",
        ])
    }

    enum Outcome: CustomStringConvertible {
        case delivered(Int)
        case retry(status: Int?, error: String, retryAfter: Duration?)
        case refused(status: Int?, error: String)

        var result: String {
            switch self {
            case .delivered: "delivered"
            case .retry: "retry"
            case .refused: "refused"
            }
        }

        var description: String {
            switch self {
            case .delivered(let status): "\(status)"
            case .retry(let status, let error, _), .refused(let status, let error): "\(status.map(String.init) ?? "-") \(error)"
            }
        }
    }

    private func send(_ call: WebhookDelivery) async -> Outcome {
        let secret: String?
        do {
            secret = try await pool.withConnection { connection in try self.secret(call.kind, call.owner, connection) }
        } catch {
            return .retry(status: nil, error: "cannot read the signing secret: \(error)", retryAfter: nil)
        }
        guard let secret else { return .refused(status: nil, error: "\(call.owner) has no webhook secret") }
        let timestamp = Int64(Date().timeIntervalSince1970)
        var request = HTTPClientRequest(url: call.url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "user-agent", value: "undersigned-delivery")
        request.headers.add(name: "Idempotency-Key", value: call.idempotencyKey)
        request.headers.add(name: WebhookSignature.timestampHeader, value: String(timestamp))
        request.headers.add(name: WebhookSignature.signatureHeader, value: WebhookSignature.sign(secret: secret, timestamp: timestamp, body: call.body))
        request.body = .bytes(ByteBuffer(bytes: call.body))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .init(settings.timeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            switch status {
            case 200..<300: return .delivered(status)
            case 408, 429, 500...599:
                let retryAfter = response.headers.first(name: "retry-after").flatMap(Int64.init).map { Duration.seconds(min($0, 3600)) }
                return .retry(status: status, error: "the receiver answered \(status)", retryAfter: retryAfter)
            default: return .refused(status: status, error: "the receiver refused the call with \(status)")
            }
        } catch {
            return .retry(status: nil, error: "\(error)", retryAfter: nil)
        }
    }

    /// Exponential back-off with jitter: base × 2^attempts, at most the maximum, times a random 0.5–1.
    func delay(after attempts: Int) -> Duration {
        let exponential = settings.baseDelay * (1 << min(attempts, 20))
        return min(exponential, settings.maximumDelay) * Double.random(in: 0.5...1.0)
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
