import AMQP
import Hummingbird
import Logging
import Postgres
import ServiceSupport

public enum DeliveryService {
    /// Assembles delivery: pool, publisher (dead letters), the milestones consumer, and an ops server.
    public static func build(
        configuration: DeliveryConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let common = configuration.common
        let names = common.topology
        let pool = PostgresPool(configuration: common.postgres, logger: logger)
        let publisher = AMQPPublisher(
            configuration: .init(connection: common.amqp(role: "publisher"), topology: .undersigned(names)), logger: logger)
        let consumer = AMQPConsumer(
            configuration: .init(
                connection: common.amqp(role: "consumer"), topology: .undersigned(names), queue: names.deliveryMilestonesQueue,
                prefetch: 50, batchSize: 20),
            logger: logger)
        let worker = BatchWorker(
            consumer: consumer, publisher: publisher, handler: MilestoneHandler(pool: pool, logger: logger),
            service: "delivery", queue: names.deliveryMilestonesQueue, deadExchange: names.deadExchange, logger: logger)
        return OperationsApplication.build(
            name: "delivery", port: configuration.opsPort, pool: pool, publisher: publisher, consumers: [consumer],
            services: [DatabaseService(pool: pool, migrate: common.migrateOnStart, logger: logger), PublisherService(publisher: publisher), worker],
            onServerRunning: onServerRunning, logger: logger)
    }
}
