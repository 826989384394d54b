import AMQP
import Foundation
import Hummingbird
import Logging
import Messaging
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store

public enum IntakeService {
    /// Assembles intake: database pool, confirming publisher, envelope batcher, the HTTP server with the
    /// signing API, and the ops server (health, metrics) on a port of its own. Shutdown runs in reverse: the server stops taking
    /// requests, the batcher flushes, the publisher drains its confirms, the pool closes.
    public static func build(
        configuration: IntakeConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onOperationsRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let common = configuration.common
        let names = common.topology
        let pool = PostgresPool(configuration: common.postgres, logger: logger)
        let publisher = AMQPPublisher(
            configuration: .init(
                connection: common.amqp(role: "publisher"), topology: .undersigned(names),
                window: configuration.publishWindow, maximumWaiting: configuration.maximumWaitingEnvelopes,
                publishTimeout: configuration.publishTimeout),
            logger: logger)
        let batcher = EnvelopeBatcher(
            publisher: publisher, names: names, size: configuration.envelopeSize,
            delay: configuration.envelopeDelay)
        let readiness = Readiness()
        readiness.add("broker") { publisher.status.connected }
        readiness.add("database") { await pool.isReachable() }

        let abuse = AbuseGuard(settings: configuration.abuse, logger: logger)
        let router = Router(context: PeerRequestContext.self, options: .autoGenerateHeadEndpoints)
        router.middlewares.add(MetricsMiddleware())
        router.middlewares.add(SecurityHeadersMiddleware(allowedOrigins: common.corsOrigins))
        let directory = PetitionDirectory(pool: pool)
        let switches = Switchboard()
        let kiosks = KioskRegistry(pool: pool, logger: logger)
        let refusals = RefusalTally(pool: pool, logger: logger)
        let signing = SignatureRoutes(
            directory: directory, batcher: batcher, publisher: publisher, abuse: abuse, publicURL: common.publicURL,
            allowedOrigins: common.corsOrigins, switches: switches, kiosks: kiosks, refusals: refusals, logger: logger)
        signing.add(to: router)
        KioskRoutes(directory: directory, publicURL: common.publicURL).add(to: router)
        SigningPageRoutes(directory: directory, signing: signing, abuse: abuse, publicURL: common.publicURL).add(to: router)
        VerificationRoutes(pool: pool, publisher: publisher, names: names, tokens: configuration.verificationTokens).add(to: router)
        let admin = AdminToken(configuration.adminToken)
        router.get("/v1/ops/trending") { request, _ in
            try admin.check(request)
            let (total, sources) = abuse.trending.flagged(now: AbuseGuard.now())
            let object: [String: Any] = [
                "window_seconds": Int(configuration.abuse.trendingWindow.inSeconds), "share": configuration.abuse.trendingShare,
                "minimum": configuration.abuse.trendingMinimum, "signatures": total,
                "sources": sources.map { ["kind": $0.kind, "value": $0.value, "count": $0.count, "share": $0.share] as [String: Any] },
            ]
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))))
        }
        router.get("/v1/ops/petitions/:slug/sources") { request, context in
            try admin.check(request)
            let slug = context.parameters.get("slug") ?? ""
            guard let rows = try await pool.withConnection({ connection in try SourceCounts.list(petition: slug, on: connection) }) else {
                throw Problem.noSuchPetition(slug)
            }
            let object: [String: Any] = ["petition": slug, "sources": rows.map { ["source": $0.source, "signatures": $0.count] as [String: Any] }]
            return Response(
                status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))))
        }
        router.middlewares.add(MethodNotAllowedMiddleware(["/v1/ops/trending": [.get], "/v1/ops/petitions/:slug/sources": [.get]]))
        PartnerBatchRoutes(
            pool: pool, publisher: publisher, names: names, logger: logger,
            maximumRows: configuration.partnerBatchMaximumRows, maximumBytes: configuration.partnerBatchMaximumBytes
        ).add(to: router)

        return Application(
            router: router, server: common.publicHTTPServer,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "undersigned-intake"),
            services: [
                pool,
                publisher,
                batcher,
                BlockListRefresher(pool: pool, guardian: abuse, logger: logger),
                SwitchWatcher(pool: pool, board: switches, logger: logger),
                kiosks,
                refusals,
                OperationsApplication.build(
                    name: "intake-ops", host: configuration.host, port: configuration.opsPort, readiness: readiness, server: common.httpServer,
                    onServerRunning: onOperationsRunning, logger: logger),
            ],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}
