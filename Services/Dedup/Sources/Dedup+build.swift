import AMQP
import Hummingbird
import Logging
import Models
import Postgres
import ServiceSupport

public enum DedupService {
    /// Assembles dedup: pool, publisher (accepted events and dead letters), the envelope consumer, and an
    /// ops server (`/health/*`, `/metrics`). Shutdown: the consumer finishes and acks its batch, the
    /// publisher drains, the pool closes.
    public static func build(
        configuration: DedupConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let common = configuration.common
        let names = common.topology
        let keys = try SignerKeyMaker(secret: configuration.signerSecret)
        let pool = PostgresPool(configuration: common.postgres, logger: logger)
        let publisher = AMQPPublisher(
            configuration: .init(connection: common.amqp(role: "publisher"), topology: .undersigned(names)), logger: logger)
        let consumer = AMQPConsumer(
            configuration: .init(
                connection: common.amqp(role: "consumer"), topology: .undersigned(names), queue: names.dedupQueue,
                prefetch: configuration.prefetch, batchSize: configuration.batchSize),
            logger: logger)
        let worker = BatchWorker(
            consumer: consumer, publisher: publisher,
            handler: EnvelopeHandler(pool: pool, publisher: publisher, names: names, keys: keys, logger: logger),
            service: "dedup", queue: names.dedupQueue, deadExchange: names.deadExchange, logger: logger)
        return OperationsApplication.build(
            name: "dedup", port: configuration.opsPort, pool: pool, publisher: publisher, consumer: consumer,
            services: [DatabaseService(pool: pool, migrate: common.migrateOnStart, logger: logger), PublisherService(publisher: publisher), worker],
            onServerRunning: onServerRunning, logger: logger)
    }
}
