import AMQP
import Foundation
import Logging
import Models
import Postgres
import ServiceSupport
import Store

/// Handles `MilestoneReached`: records each milestone once (by its key) and, in the same transaction,
/// plans a delivery to every target of the petition that listens to milestones (trigger
/// `milestone:<threshold>`, so a redelivered milestone plans nothing twice).
struct MilestoneHandler: BatchHandler {
    let pool: PostgresPool
    let giveUpAfter: Duration
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
        let (recorded, planned) = try await pool.transaction { [milestones, giveUpAfter] connection in
            let recorded = try connection.query("""
                INSERT INTO delivery_events (event_key, kind, petition, payload)
                SELECT key, 'milestone', petition, payload::jsonb
                FROM unnest(\(milestones.map(\.key))::text[], \(milestones.map(\.milestone.petition))::text[],
                            \(milestones.map(\.body))::text[]) AS t(key, petition, payload)
                ON CONFLICT (event_key) DO NOTHING
                RETURNING event_key
                """).map { try $0.decode(String.self, 0) }
            var planned: [DeliveryRecord] = []
            for (key, milestone, _) in milestones where recorded.contains(key) {
                guard let petition = try Petitions.find(slug: milestone.petition, on: connection) else { continue }
                for plan in try Deliveries.planAll(
                    petitionID: petition.id, kind: .milestone, trigger: "milestone:\(milestone.threshold)", giveUpAfter: giveUpAfter, on: connection) {
                    if case .created(let delivery) = plan { planned.append(delivery) }
                }
            }
            return (recorded, planned)
        }
        for key in recorded {
            logger.notice("milestone recorded for delivery", metadata: ["event": "\(key)"])
        }
        for delivery in planned {
            logger.notice("delivery planned", metadata: ["delivery": "\(delivery.id)", "target": "\(delivery.target)", "trigger": "\(delivery.trigger)"])
        }
        return dead
    }
}
