import AMQP
import Hummingbird
import Logging
import Messaging
import Postgres
import ServiceSupport

public enum TallyService {
    /// Assembles tally: pool, publisher (milestones, dead letters), the accepted-events consumer, the HTTP
    /// server with the count API, and the ops server (health, metrics) on a port of its own.
    public static func build(
        configuration: TallyConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onOperationsRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let common = configuration.common
        let names = common.topology
        let pool = PostgresPool(configuration: common.postgres, logger: logger)
        let publisher = AMQPPublisher(
            configuration: .init(connection: common.amqp(role: "publisher"), topology: .undersigned(names)), logger: logger)
        let consumer = AMQPConsumer(
            configuration: .init(
                connection: common.amqp(role: "consumer"), topology: .undersigned(names), queue: names.tallyQueue,
                prefetch: configuration.prefetch, batchSize: configuration.batchSize),
            logger: logger)
        let worker = BatchWorker(
            consumer: consumer, publisher: publisher,
            handler: AcceptedHandler(pool: pool, publisher: publisher, names: names, shard: configuration.shard, logger: logger),
            service: "tally", queue: names.tallyQueue, deadExchange: names.deadExchange, logger: logger)
        let live = LiveCounts(pool: pool, logger: logger)
        let router = Router(context: PeerRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.middlewares.add(MetricsMiddleware())
        router.middlewares.add(SecurityHeadersMiddleware(allowedOrigins: common.corsOrigins))
        let switches = Switchboard()
        CountRoutes(
            pool: pool, live: live, admin: AdminToken(configuration.adminToken), views: CountViewCache(pool: pool),
            streams: AddressLimiter(perAddress: configuration.liveStreamsPerAddress, total: configuration.liveStreamsMaximum), publicURL: common.publicURL,
            switches: switches
        ).add(to: router)
        return Application(
            router: router, server: common.publicHTTPServer,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "undersigned-tally"),
            services: [
                pool, publisher, consumer, worker, live,
                SwitchWatcher(pool: pool, board: switches, logger: logger),
                OperationsApplication.build(
                    name: "tally-ops", host: configuration.host, port: configuration.opsPort,
                    readiness: .worker(pool: pool, publisher: publisher, consumers: [consumer]), server: common.httpServer,
                    onServerRunning: onOperationsRunning, logger: logger),
            ],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
