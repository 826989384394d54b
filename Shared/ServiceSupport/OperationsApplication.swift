import AMQP
import Hummingbird
import HummingbirdCore
import Logging
import Postgres
import ServiceLifecycle

/// The ops port: `/health/live`, `/health/ready` and `/metrics`, and nothing else. Every service has one,
/// apart from its public port if it has one (intake, tally): what it tells (readiness, traffic, queue
/// figures) is for the cluster and Prometheus, not for anyone on the internet.
public enum OperationsApplication {
    /// The ops server of a worker that has no public API (broker and database reachable, not draining),
    /// with the worker's services run by the application.
    public static func build(
        name: String, host: String = "0.0.0.0", port: Int, pool: PostgresPool, publisher: AMQPPublisher, consumers: [AMQPConsumer],
        services: [any Service], server: HTTPServerBuilder = .http1(), onServerRunning: @escaping @Sendable (Int) async -> Void, logger: Logger
    ) -> some ApplicationProtocol {
        build(
            name: name, host: host, port: port, readiness: .worker(pool: pool, publisher: publisher, consumers: consumers),
            services: services, server: server, onServerRunning: onServerRunning, logger: logger)
    }

    /// An ops server with `readiness`, running `services` (none for a service whose public application runs
    /// them: it runs this one among them).
    public static func build(
        name: String, host: String = "0.0.0.0", port: Int, readiness: Readiness, services: [any Service] = [],
        server: HTTPServerBuilder = .http1(), onServerRunning: @escaping @Sendable (Int) async -> Void, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router(options: .autoGenerateHeadEndpoints)
        router.middlewares.add(MetricsMiddleware())
        router.middlewares.add(SecurityHeadersMiddleware(allowedOrigins: []))
        router.addOperationsRoutes(readiness: readiness)
        return Application(
            router: router, server: server,
            configuration: .init(address: .hostname(host, port: port), serverName: "undersigned-\(name)"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger)
    }
}

extension Readiness {
    /// A consuming worker is ready when its broker connections are up, it is not stopping, and the
    /// database answers.
    public static func worker(pool: PostgresPool, publisher: AMQPPublisher, consumers: [AMQPConsumer]) -> Readiness {
        let readiness = Readiness()
        readiness.add("broker_publisher") { publisher.status.connected }
        readiness.add("broker_consumer") { consumers.allSatisfy { $0.isConnected && !$0.isStopping } }
        readiness.add("database") { await pool.isReachable() }
        return readiness
    }
}
