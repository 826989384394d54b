import AMQP
import Hummingbird
import IOCore
import Logging
import Messaging
import Postgres
import ServiceSupport
import Store

public enum DeliveryService {
    /// Assembles delivery: pool, publisher (dead letters), the milestones and partner-receipts consumers,
    /// the webhook dispatcher, the delivery runner and scheduler, and an ops server.
    public static func build(
        configuration: DeliveryConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        try Spool.prepare(configuration.spool)
        let common = configuration.common
        let names = common.topology
        let pool = PostgresPool(configuration: common.postgres, logger: logger)
        let publisher = AMQPPublisher(
            configuration: .init(connection: common.amqp(role: "publisher"), topology: .undersigned(names)), logger: logger)
        /// A consumer of `queue` and the worker that runs `handler` on its batches.
        func worker(_ queue: String, role: String, prefetch: Int, batchSize: Int, _ handler: any BatchHandler) -> (AMQPConsumer, BatchWorker) {
            let consumer = AMQPConsumer(
                configuration: .init(
                    connection: common.amqp(role: role), topology: .undersigned(names), queue: queue, prefetch: prefetch, batchSize: batchSize),
                logger: logger)
            return (consumer, BatchWorker(
                consumer: consumer, publisher: publisher, handler: handler, service: "delivery", queue: queue,
                deadExchange: names.deadExchange, logger: logger))
        }
        let milestones = worker(names.deliveryMilestonesQueue, role: "consumer", prefetch: 50, batchSize: 20, MilestoneHandler(pool: pool, giveUpAfter: configuration.deliveryGiveUp, logger: logger))
        let receipts = worker(
            names.deliveryReceiptsQueue, role: "receipts", prefetch: 100, batchSize: 50,
            ReceiptHandler(pool: pool, giveUpAfter: configuration.webhookGiveUp))
        let switches = Switchboard()
        let webhooks = WebhookDispatcher(
            pool: pool, settings: .init(baseDelay: configuration.webhookRetryBase, policy: configuration.outbound),
            secret: { kind, owner, connection in
                switch kind {
                case "partner-receipt": try Partners.webhook(partner: owner, on: connection)?.secret
                default: nil
                }
            },
            logger: logger, switches: switches)
        let poster = WebhookPoster(timeout: .seconds(120), policy: configuration.outbound)
        let runner = DeliveryRunner(
            pool: pool, builder: PackageBuilder(pool: pool, spool: configuration.spool, logger: logger),
            transports: [
                .files: FilesTransport(),
                .webhook: WebhookTransport(poster: poster) { target in
                    try await pool.withConnection { connection in try Deliveries.secret(target: target, on: connection) }
                },
                .email: EmailTransport(settings: configuration.smtp, maximumAttachment: configuration.maximumAttachmentBytes),
            ],
            settings: .init(lease: configuration.deliveryLease, backoff: Backoff(base: configuration.webhookRetryBase)), logger: logger)
        let mailer = VerificationMailer(
            pool: pool,
            settings: .init(
                smtp: configuration.smtp, sealer: configuration.sealer, tokens: configuration.verificationTokens, publicURL: configuration.common.publicURL,
                spool: configuration.spool, backoff: Backoff(base: configuration.webhookRetryBase)),
            logger: logger, switches: switches)
        let scheduler = DeliveryScheduler(
            pool: pool, interval: configuration.scheduleInterval, giveUpAfter: configuration.deliveryGiveUp, logger: logger)
        return OperationsApplication.build(
            name: "delivery", port: configuration.opsPort, pool: pool, publisher: publisher, consumers: [milestones.0, receipts.0],
            services: [
                pool, publisher, milestones.0, receipts.0, milestones.1, receipts.1, webhooks, runner, scheduler, mailer, SwitchWatcher(pool: pool, board: switches, logger: logger),
            ],
            server: common.httpServer, onServerRunning: onServerRunning, logger: logger)
    }
}
