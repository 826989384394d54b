import Foundation

/// Where and how to connect to RabbitMQ.
public struct AMQPConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var user: String
    public var password: String
    public var virtualHost: String
    /// Seconds between heartbeats; the connection is declared dead after two silent intervals. Default 10.
    public var heartbeat: Int
    /// Shown in the management UI, e.g. `intake-publisher`.
    public var connectionName: String
    /// Bounds connecting, logging in and each synchronous call (declare, qos, consume). Default 10 s.
    public var timeout: Duration
    /// Whether connecting declares the topology (exchanges, queues, bindings). A service that logs in with
    /// a least-privilege user may configure nothing: it only checks, with passive declares, that what it
    /// uses exists (set up beforehand by `undersigned broker setup` or the broker's definitions).
    public var declaresTopology = true

    public init(
        host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest",
        virtualHost: String = "/", heartbeat: Int = 10, connectionName: String = "undersigned",
        timeout: Duration = .seconds(10)
    ) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.virtualHost = virtualHost
        self.heartbeat = heartbeat
        self.connectionName = connectionName
        self.timeout = timeout
    }

    /// Parses `amqp://user:password@host:port/vhost` (the vhost percent-encoded: `%2f` is `/`, the default).
    public init(url: String, connectionName: String = "undersigned") throws(AMQPError) {
        guard let components = URLComponents(string: url), components.scheme == "amqp",
            let host = components.host, !host.isEmpty
        else {
            throw AMQPError(code: .connection, message: "not an amqp:// URL with a host")
        }
        self.init(
            host: host,
            port: components.port ?? 5672,
            user: components.user?.removingPercentEncoding ?? "guest",
            password: components.password?.removingPercentEncoding ?? "guest",
            virtualHost: {
                let path = components.percentEncodedPath
                guard path.count > 1 else { return "/" }
                return String(path.dropFirst()).removingPercentEncoding ?? "/"
            }(),
            connectionName: connectionName)
        if let heartbeat = components.queryItems?.first(where: { $0.name == "heartbeat" })?.value.flatMap(Int.init) {
            self.heartbeat = heartbeat
        }
    }

    /// The URL without the password, for logs.
    public var redacted: String {
        "amqp://\(user)@\(host):\(port)/\(virtualHost == "/" ? "%2f" : virtualHost)"
    }
}
