import AMQP
import Foundation
import Models

/// A delivery that cannot succeed, and why. The worker republishes it to `undersigned.dead` (routing key =
/// the queue it came from, so it lands in `<queue>.dead`) with the reason in headers, then acks the original.
public struct DeadLetter: Error, Sendable {
    public var delivery: Delivery
    /// Machine-readable: `not_json`, `unsupported_version`, `invalid`, `handler_failed`, ...
    public var code: String
    /// For people; never contains signer data.
    public var reason: String

    public init(delivery: Delivery, code: String, reason: String) {
        self.delivery = delivery
        self.code = code
        self.reason = reason
    }

    /// Header names, shared with `undersigned dead`.
    public enum Header {
        public static let code = "x-undersigned-error"
        public static let reason = "x-undersigned-reason"
        public static let service = "x-undersigned-service"
        public static let queue = "x-undersigned-queue"
        public static let failedAt = "x-undersigned-failed-at"
        public static let originalExchange = "x-undersigned-original-exchange"
        public static let originalRoutingKey = "x-undersigned-original-routing-key"
    }

    func message(service: String, queue: String, deadExchange: String, now: Date = Date()) -> OutgoingMessage {
        var properties = delivery.properties
        properties.persistent = true
        // What the sender wrote about deaths is not ours to keep: `dead requeue` trusts an `x-death` as the
        // broker's own record, and our headers below as ours.
        properties.headers = properties.headers.filter { key, _ in
            key != "x-death" && !key.hasPrefix("x-first-death") && !key.hasPrefix("x-last-death")
        }
        // user_id must match the publishing connection's login or RabbitMQ closes the channel;
        // keep the original provenance in a header instead.
        if let userID = properties.userID {
            properties.headers["x-undersigned-original-user-id"] = .string(userID)
            properties.userID = nil
        }
        properties.headers[Header.code] = .string(code)
        properties.headers[Header.reason] = .string(reason)
        properties.headers[Header.service] = .string(service)
        properties.headers[Header.queue] = .string(queue)
        properties.headers[Header.failedAt] = .string(Timestamp.format(now))
        properties.headers[Header.originalExchange] = .string(delivery.exchange)
        properties.headers[Header.originalRoutingKey] = .string(delivery.routingKey)
        return OutgoingMessage(exchange: deadExchange, routingKey: queue, body: delivery.body, properties: properties)
    }
}
