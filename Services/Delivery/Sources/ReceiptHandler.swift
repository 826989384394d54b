import AMQP
import Logging
import Models
import Postgres
import ServiceSupport
import Store

/// Handles partner receipts (from `partners.receipts`): when the partner registered a URL, the receipt
/// joins the webhook outbox once (keyed by its message id); the dispatcher makes the call.
struct ReceiptHandler: BatchHandler {
    let pool: PostgresPool
    let giveUpAfter: Duration

    func handle(_ deliveries: [Delivery]) async throws -> [DeadLetter] {
        var dead: [DeadLetter] = []
        var receipts: [(key: String, receipt: PartnerReceipt, body: [UInt8])] = []
        for delivery in deliveries {
            switch WireCodec.decode(PartnerReceipt.self, from: delivery.body) {
            case .success(let receipt):
                let key = delivery.properties.messageID ?? "receipt:\(receipt.partner):\(receipt.envelopeID?.uuidString.lowercased() ?? receipt.batchID)"
                receipts.append((key, receipt, delivery.body))
            case .failure(let problem):
                dead.append(DeadLetter(delivery: delivery, code: problem.code, reason: problem.description))
            }
        }
        guard !receipts.isEmpty else { return dead }
        try await pool.transaction { [receipts, giveUpAfter] connection in
            var webhooks: [String: (url: String, secret: String)?] = [:]
            for (key, receipt, body) in receipts {
                if webhooks[receipt.partner] == nil { webhooks[receipt.partner] = .some(try Partners.webhook(partner: receipt.partner, on: connection)) }
                guard let webhook = webhooks[receipt.partner] ?? nil else { continue }
                try Webhooks.enqueue(key: key, kind: "partner-receipt", owner: receipt.partner, url: webhook.url, body: body,
                                     giveUpAfter: giveUpAfter, on: connection)
            }
        }
        return dead
    }
}
