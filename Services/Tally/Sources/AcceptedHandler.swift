import AMQP
import Foundation
import Logging
import Messaging
import Metrics
import Models
import Postgres
import ServiceSupport

/// Handles `SignaturesAccepted`: counts each signature once, records crossed milestones in the same
/// transaction, then publishes unpublished milestones (the outbox) before the worker acks.
struct AcceptedHandler: BatchHandler {
    let pool: PostgresPool
    let publisher: AMQPPublisher
    let names: TopologyNames
    let shard: Int
    let logger: Logger
    private let counted = Counter(label: "undersigned_tally_events_total")
    /// From intake's receipt of a signature (its `signed_at`) to its count committing. Partner signatures
    /// carry the partner's signing time, often hours old, so they are left out.
    private let endToEnd = Timer(label: "undersigned_end_to_end_lag_seconds", preferredDisplayUnit: .seconds)

    init(pool: PostgresPool, publisher: AMQPPublisher, names: TopologyNames, shard: Int, logger: Logger) {
        self.pool = pool
        self.publisher = publisher
        self.names = names
        self.shard = shard
        self.logger = logger
    }

    func handle(_ deliveries: [Delivery]) async throws -> [DeadLetter] {
        var dead: [DeadLetter] = []
        var events: [SignatureAccepted] = []
        for delivery in deliveries {
            switch WireCodec.decode(SignaturesAccepted.self, from: delivery.body) {
            case .success(let message): events += message.events
            case .failure(let problem): dead.append(DeadLetter(delivery: delivery, code: problem.code, reason: problem.description))
            }
        }
        if !events.isEmpty {
            try await pool.transaction { [events, shard] connection in
                let touched = try CountStore.count(events, shard: shard, on: connection)
                try CountStore.recordMilestones(petitionIDs: touched, on: connection)
            }
            counted.increment(by: events.count)
            let now = Date()
            for event in events where SignatureSource(stored: event.source).channel != .partner {
                endToEnd.recordSeconds(max(0, now.timeIntervalSince(event.signedAt)))
            }
        }
        try await publishMilestones()
        return dead
    }

    private func publishMilestones() async throws {
        let milestones = try await pool.withConnection { connection in try CountStore.unpublishedMilestones(on: connection) }
        guard !milestones.isEmpty else { return }
        try await publisher.publish(milestones.map { $0.message(names) })
        try await pool.withConnection { connection in try CountStore.markPublished(milestones, on: connection) }
        for milestone in milestones {
            logger.notice("milestone reached", metadata: ["petition": "\(milestone.petition)", "threshold": "\(milestone.threshold)"])
        }
    }
}
