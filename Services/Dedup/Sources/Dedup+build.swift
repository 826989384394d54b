import AMQP
import Hummingbird
import Logging
import Messaging
import Models
import Postgres
import ServiceLifecycle
import ServiceSupport

public enum DedupService {
    /// Assembles dedup: pool, publisher (accepted events and dead letters), the envelope consumer, and an
    /// ops server (`/health/*`, `/metrics`). Shutdown: the consumer finishes and acks its batch, the
    /// publisher drains, the pool closes.
    public static func build(
        configuration: DedupConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let common = configuration.common
        let names = common.topology
        let pool = PostgresPool(configuration: common.postgres, logger: logger)
        let publisher = AMQPPublisher(
            configuration: .init(connection: common.amqp(role: "publisher"), topology: .undersigned(names)), logger: logger)
        // Several consumers per instance: while one batch waits on PostgreSQL or a confirm, the next is
        // decoded and keyed. Batches are independent (inserts conflict-safe, one lock order), so order
        // between them does not matter.
        let consumers = (1...configuration.consumers).map { index in
            AMQPConsumer(
                configuration: .init(
                    connection: common.amqp(role: "consumer-\(index)"), topology: .undersigned(names), queue: names.dedupQueue,
                    prefetch: configuration.prefetch, batchSize: configuration.batchSize),
                logger: logger)
        }
        let rules = EmailRulesBox()
        let sealer = configuration.sealer
        if sealer == nil { logger.notice("UNDERSIGNED_DATA_KEYS is not set: no signer's address is kept, even with their consent") }
        var handler = EnvelopeHandler(pool: pool, publisher: publisher, names: names, keys: configuration.keys, rules: rules, sealer: sealer, logger: logger)
        handler.verificationTime = configuration.verificationTime
        let workers: [any Service] = consumers.map { consumer in
            BatchWorker(
                consumer: consumer, publisher: publisher, handler: handler,
                service: "dedup", queue: names.dedupQueue, deadExchange: names.deadExchange, logger: logger)
        }
        return OperationsApplication.build(
            name: "dedup", port: configuration.opsPort, pool: pool, publisher: publisher, consumers: consumers,
            services: [
                pool, publisher,
                PartnerQueues(pool: pool, consumers: consumers, names: names, interval: configuration.partnerRefresh, logger: logger),
                EmailRulesWatcher(pool: pool, box: rules, interval: configuration.rulesRefresh, logger: logger),
            ] + consumers + workers,
            server: common.httpServer, onServerRunning: onServerRunning, logger: logger)
    }
}
