import AMQP
import Logging
import Messaging
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store

/// Keeps dedup's consumers on every partner's submission queue: partners appear while dedup runs
/// (`undersigned partner add`), so their list is read from the database every `interval`, and a new
/// partner's queue is declared and consumed by each consumer. A disabled partner's queue is still
/// consumed: what it sent before was confirmed to it.
struct PartnerQueues: Service {
    let pool: PostgresPool
    let consumers: [AMQPConsumer]
    let names: TopologyNames
    let interval: Duration
    let logger: Logger

    func run() async throws {
        try await untilGracefulShutdown {
            var known = Set<String>()
            while true {
                do {
                    let partners = try await pool.withConnection { connection in try Partners.list(on: connection).map(\.name) }
                    for partner in partners where !known.contains(partner) {
                        for consumer in consumers {
                            consumer.consume(also: names.partnerSubmittedQueue(partner), declaring: .partnerSubmissions(names, partner: partner))
                        }
                        known.insert(partner)
                    }
                } catch {
                    logger.warning("cannot read the partners", metadata: ["error": "\(error)"])
                }
                try await Task.sleep(for: interval)
            }
        }
    }
}
