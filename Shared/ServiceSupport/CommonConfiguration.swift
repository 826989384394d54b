import AMQP
import Foundation
import Hummingbird
import HummingbirdCore
import Messaging
import Models
import Postgres
import Store

/// The settings every service shares, from `UNDERSIGNED_*` environment variables. Defaults work against
/// the local servers that `scripts/up` starts.
public struct CommonConfiguration: Sendable {
    /// `UNDERSIGNED_AMQP_URL`, default `amqp://guest:guest@127.0.0.1:5672/%2f`.
    public var amqp: AMQPConfiguration
    /// `UNDERSIGNED_DATABASE_URL`, default `postgresql://undersigned@127.0.0.1:5432/undersigned`.
    public var databaseURL: String
    /// `UNDERSIGNED_DATABASE_POOL_SIZE`, connections per process, default 4.
    public var databasePoolSize: Int
    /// `UNDERSIGNED_DATABASE_MAX_WAITING` (default 1,000) and `UNDERSIGNED_DATABASE_QUEUE_TIMEOUT_MS` (default
    /// 10 s): callers that may wait for a connection, and for how long (see `PostgresPool.Configuration`);
    /// past either, an HTTP request gets a 503 with `Retry-After` and a worker's batch is retried.
    public var databaseMaximumWaiting = 1_000
    public var databaseQueueTimeout: Duration = .seconds(10)
    /// `UNDERSIGNED_TOPOLOGY_PREFIX`, put before every exchange and queue name, default none.
    /// Lets several suites share one broker (and tests run side by side).
    public var topology: TopologyNames
    /// `UNDERSIGNED_LOG_LEVEL`, default info.
    public var logLevel: LogLevelSetting
    /// `UNDERSIGNED_MIGRATE_ON_START`, apply pending migrations at start (under an advisory lock), default true.
    public var migrateOnStart: Bool
    /// `UNDERSIGNED_INSTANCE`, a name for this process in logs and connection names, default the host name and pid.
    public var instance: String
    /// `UNDERSIGNED_CORS_ORIGINS`: comma-separated origins (`https://peace.example`) whose pages may call the
    /// public API from a browser; default none.
    public var corsOrigins: [String] = []
    /// `UNDERSIGNED_PUBLIC_URL`: where signers reach intake (the signing pages' short links, the QR code on
    /// the stage page, the links in verification mails), default `http://127.0.0.1:8080`; no trailing slash.
    public var publicURL = "http://127.0.0.1:8080"
    /// `UNDERSIGNED_HTTP_IDLE_TIMEOUT_S`: an HTTP connection with no request in progress, or whose request
    /// has not arrived whole, is closed after this long (slow senders cannot hold connections), default 30 s.
    /// A response being written (a live stream) is not idle.
    public var httpIdleTimeout: Duration = .seconds(30)

    /// `UNDERSIGNED_CONNECTIONS_PER_ADDRESS`: connections one address (an IPv6 client's /64) may hold open on
    /// a public port, default 256 (0: no cap). Addresses in `UNDERSIGNED_TRUSTED_PROXIES` and
    /// `UNDERSIGNED_ALLOW_NETWORKS` are not counted (a proxy or a festival's NAT is many people's address).
    public var connectionsPerAddress = 256
    public var connectionCapExempt: [IPNetwork] = []

    /// The HTTP server of an ops port: HTTP/1.1 with the idle timeout.
    public var httpServer: HTTPServerBuilder {
        .http1(configuration: .init(idleTimeout: .seconds(Int64(httpIdleTimeout.components.seconds))))
    }

    /// The HTTP server of a public port: the idle timeout, and at most `connectionsPerAddress` connections
    /// from one address (one cap for the server this builds).
    public var publicHTTPServer: HTTPServerBuilder {
        guard connectionsPerAddress > 0 else { return httpServer }
        let limiter = AddressLimiter(perAddress: connectionsPerAddress, total: .max)
        return .http1(configuration: .init(
            additionalChannelHandlers: [ConnectionCapHandler(limiter: limiter, exempt: connectionCapExempt)],
            idleTimeout: .seconds(Int64(httpIdleTimeout.components.seconds))))
    }

    public static let defaultAMQPURL = "amqp://guest:guest@127.0.0.1:5672/%2f"
    public static let defaultDatabaseURL = "postgresql://undersigned@127.0.0.1:5432/undersigned"

    public init(
        amqp: AMQPConfiguration, databaseURL: String, databasePoolSize: Int = 4, topology: TopologyNames = TopologyNames(),
        logLevel: LogLevelSetting = .info, migrateOnStart: Bool = true, instance: String
    ) {
        self.amqp = amqp
        self.databaseURL = databaseURL
        self.databasePoolSize = databasePoolSize
        self.topology = topology
        self.logLevel = logLevel
        self.migrateOnStart = migrateOnStart
        self.instance = instance
    }

    public init(service: String, reader: ConfigurationReader) {
        let instance = reader.string("UNDERSIGNED_INSTANCE", default: "\(service)-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)")
        self.init(
            amqp: reader.amqp("UNDERSIGNED_AMQP_URL", default: Self.defaultAMQPURL, connectionName: instance),
            databaseURL: reader.postgresURL("UNDERSIGNED_DATABASE_URL", default: Self.defaultDatabaseURL),
            databasePoolSize: reader.int("UNDERSIGNED_DATABASE_POOL_SIZE", default: 4, in: 1...64),
            topology: TopologyNames(prefix: reader.string("UNDERSIGNED_TOPOLOGY_PREFIX", default: "")),
            logLevel: reader.logLevel(),
            migrateOnStart: reader.bool("UNDERSIGNED_MIGRATE_ON_START", default: true),
            instance: instance)
        corsOrigins = reader.string("UNDERSIGNED_CORS_ORIGINS", default: "").split(separator: ",").map { $0.trimmingWhitespace() }
            .filter { !$0.isEmpty }
        httpIdleTimeout = .seconds(reader.int("UNDERSIGNED_HTTP_IDLE_TIMEOUT_S", default: 30, in: 1...3600))
        connectionsPerAddress = reader.int("UNDERSIGNED_CONNECTIONS_PER_ADDRESS", default: 256, in: 0...1_000_000)
        for name in ["UNDERSIGNED_TRUSTED_PROXIES", "UNDERSIGNED_ALLOW_NETWORKS"] {
            // Each is checked (and its problem reported) where it is used for more; here a wrong one exempts nothing.
            connectionCapExempt += (try? IPNetwork.list(reader.string(name, default: ""))) ?? []
        }
        databaseMaximumWaiting = reader.int("UNDERSIGNED_DATABASE_MAX_WAITING", default: 1_000, in: 1...1_000_000)
        databaseQueueTimeout = reader.milliseconds("UNDERSIGNED_DATABASE_QUEUE_TIMEOUT_MS", default: .seconds(10), in: 10...600_000)
        publicURL = reader.string("UNDERSIGNED_PUBLIC_URL", default: publicURL).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !(publicURL.hasPrefix("http://") || publicURL.hasPrefix("https://")) || URL(string: publicURL)?.host == nil {
            reader.problem("UNDERSIGNED_PUBLIC_URL: \(publicURL) is not a URL such as https://sign.peace.example")
        }
        for origin in corsOrigins where URL(string: origin)?.scheme == nil || URL(string: origin)?.host == nil || origin.hasSuffix("/") {
            reader.problem("UNDERSIGNED_CORS_ORIGINS: \(origin) is not an origin such as https://peace.example")
        }
    }

    public var postgres: PostgresPool.Configuration {
        PostgresPool.Configuration(
            url: databaseURL, size: databasePoolSize, applicationName: instance, maximumWaiting: databaseMaximumWaiting,
            queueTimeout: databaseQueueTimeout, migrateAtStart: migrateOnStart ? Schema.migrator : nil)
    }

    /// The AMQP settings with a connection name for one role (`publisher`, `consumer`).
    public func amqp(role: String) -> AMQPConfiguration {
        var configuration = amqp
        configuration.connectionName = "\(instance)-\(role)"
        return configuration
    }
}
