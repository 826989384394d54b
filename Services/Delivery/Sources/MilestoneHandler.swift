import AMQP
import Foundation
import Logging
import Models
import Postgres
import ServiceSupport

/// Handles `MilestoneReached`: records each milestone once (by its key) for the deliveries it triggers.
struct MilestoneHandler: BatchHandler {
    let pool: PostgresPool
    let logger: Logger

    func handle(_ deliveries: [Delivery]) async throws -> [DeadLetter] {
        var dead: [DeadLetter] = []
        var milestones: [(key: String, milestone: MilestoneReached, body: String)] = []
        for delivery in deliveries {
            switch WireCodec.decode(MilestoneReached.self, from: delivery.body) {
            case .success(let milestone):
                milestones.append(("milestone:\(milestone.petition):\(milestone.threshold)", milestone, String(decoding: delivery.body, as: UTF8.self)))
            case .failure(let problem):
                dead.append(DeadLetter(delivery: delivery, code: problem.code, reason: problem.description))
            }
        }
        guard !milestones.isEmpty else { return dead }
        let recorded = try await pool.transaction { [milestones] connection in
            try connection.query("""
                INSERT INTO delivery_events (event_key, kind, petition, payload)
                SELECT key, 'milestone', petition, payload::jsonb
                FROM unnest(\(milestones.map(\.key))::text[], \(milestones.map(\.milestone.petition))::text[],
                            \(milestones.map(\.body))::text[]) AS t(key, petition, payload)
                ON CONFLICT (event_key) DO NOTHING
                RETURNING event_key
                """).map { try $0.decode(String.self, 0) }
        }
        for key in recorded {
            logger.notice("milestone recorded for delivery", metadata: ["event": "\(key)"])
        }
        return dead
    }
}
