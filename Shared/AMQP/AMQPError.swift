/// An error from the AMQP layer: what failed, the broker's reply code or rabbitmq-c status when there is
/// one, and whether trying again (after a reconnect) can help.
public struct AMQPError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Could not connect or log in, or the socket broke.
        case connection
        /// The broker closed the channel (e.g. 404 NOT_FOUND, 406 PRECONDITION_FAILED).
        case channelClosed
        /// The broker closed the connection (e.g. 320 CONNECTION_FORCED on shutdown, 530 NOT_ALLOWED).
        case connectionClosed
        /// The broker refused a published message (`basic.nack`).
        case nacked
        /// The broker could not route a mandatory message to any queue (`basic.return`).
        case unroutable
        /// The message could not be published before its deadline (broker unreachable or blocked).
        case timeout
        /// The publisher or consumer is shutting down or stopped.
        case closed
        /// The broker is blocking publishers (memory or disk alarm) and the caller asked not to wait.
        case blocked
        /// The publisher's queue of waiting messages is full.
        case overloaded
    }

    public var code: Code
    /// AMQP reply code from the broker (`channel.close` / `connection.close` / `basic.return`).
    public var replyCode: Int?
    /// rabbitmq-c status (`AMQP_STATUS_*`), when the library reported the failure.
    public var libraryStatus: Int32?
    public var message: String

    public init(code: Code, replyCode: Int? = nil, libraryStatus: Int32? = nil, message: String) {
        self.code = code
        self.replyCode = replyCode
        self.libraryStatus = libraryStatus
        self.message = message
    }

    /// True when the same operation may succeed later without changing it.
    public var isRetryable: Bool {
        switch code {
        case .connection, .connectionClosed, .timeout, .blocked, .overloaded, .nacked: true
        case .channelClosed: replyCode != 404 && replyCode != 403 && replyCode != 406
        case .unroutable, .closed: false
        }
    }

    public var description: String {
        var text = "AMQP \(code.rawValue)"
        if let replyCode { text += " [\(replyCode)]" }
        if let libraryStatus { text += " [status \(libraryStatus)]" }
        return text + ": \(message)"
    }
}
