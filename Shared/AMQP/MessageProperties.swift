import Foundation

/// The AMQP basic properties Undersigned sets and reads.
public struct MessageProperties: Sendable, Hashable {
    public var contentType: String?
    /// Persistent (2) unless stated otherwise: every message we publish must survive a broker restart.
    public var persistent: Bool
    /// The sender's id for the message (envelope id, a partner's batch id); used for tracing and idempotency.
    public var messageID: String?
    /// The broker-validated login of the publisher (RabbitMQ refuses a `user_id` that is not the connection's user).
    public var userID: String?
    /// The contract's schema name, e.g. `undersigned.envelope`.
    public var type: String?
    public var appID: String?
    public var correlationID: String?
    /// Seconds since 1970.
    public var timestamp: UInt64?
    public var headers: [String: FieldValue]

    public init(
        contentType: String? = "application/json", persistent: Bool = true, messageID: String? = nil,
        userID: String? = nil, type: String? = nil, appID: String? = nil, correlationID: String? = nil,
        timestamp: UInt64? = nil, headers: [String: FieldValue] = [:]
    ) {
        self.contentType = contentType
        self.persistent = persistent
        self.messageID = messageID
        self.userID = userID
        self.type = type
        self.appID = appID
        self.correlationID = correlationID
        self.timestamp = timestamp
        self.headers = headers
    }
}

/// A message to publish.
public struct OutgoingMessage: Sendable {
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var properties: MessageProperties
    /// Ask the broker to return the message when no queue is bound for it; the publish then fails with
    /// `.unroutable` instead of silently disappearing. Default true.
    public var mandatory: Bool

    public init(exchange: String, routingKey: String, body: [UInt8], properties: MessageProperties = MessageProperties(), mandatory: Bool = true) {
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.properties = properties
        self.mandatory = mandatory
    }
}

/// A message received from a queue.
public struct Delivery: Sendable {
    public var deliveryTag: UInt64
    /// The broker delivered it before (to this or another consumer) without an ack: it may have been handled.
    public var redelivered: Bool
    public var exchange: String
    public var routingKey: String
    public var body: [UInt8]
    public var properties: MessageProperties

    public init(deliveryTag: UInt64, redelivered: Bool, exchange: String, routingKey: String, body: [UInt8], properties: MessageProperties) {
        self.deliveryTag = deliveryTag
        self.redelivered = redelivered
        self.exchange = exchange
        self.routingKey = routingKey
        self.body = body
        self.properties = properties
    }
}
