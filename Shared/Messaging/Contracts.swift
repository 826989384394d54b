import AMQP
import Foundation
import Models

/// Each message contract builds its own outgoing message: exchange, routing key, message id, type and
/// sender are written here once, not at every place that publishes one.

/// Who sends a message: its `app_id`, and the routing key of what it submits.
public enum Sender: String, Sendable {
    case intake, dedup, tally, loadgen, push

    public var appID: String { "undersigned-\(rawValue)" }
}

extension Envelope {
    /// Signatures for dedup, to `signatures.submitted` (intake's own, loadgen's). Its id is the envelope's,
    /// so that a republished envelope is recognisably the same message.
    public func message(_ names: TopologyNames, from sender: Sender) -> OutgoingMessage {
        OutgoingMessage(
            exchange: names.submittedExchange, routingKey: sender.rawValue, body: WireCodec.encode(self),
            properties: MessageProperties(
                messageID: envelopeID.uuidString, type: Self.schema, appID: sender.appID, timestamp: UInt64(sentAt.timeIntervalSince1970)))
    }

    /// How a partner's envelope reaches dedup.
    public enum PartnerRoute: Sendable {
        /// Taken by intake over HTTP: to `signatures.submitted` (where only intake may write), the partner
        /// named in `x-partner`, which intake vouches for.
        case intake
        /// Sent by the partner itself (`undersigned push`): to the partners' exchange under its own name,
        /// with `user_id` set to its login, which the broker checks.
        case partner
    }

    /// A partner's envelope, already encoded: its id is the batch's, `x-first-row` says where it starts.
    public static func fromPartner(
        _ body: [UInt8], partner: String, batchID: String, firstRow: Int, via route: PartnerRoute, _ names: TopologyNames
    ) -> OutgoingMessage {
        var headers: [String: FieldValue] = ["x-first-row": .int(Int64(firstRow))]
        if route == .intake { headers["x-partner"] = .string(partner) }
        return OutgoingMessage(
            exchange: route == .intake ? names.submittedExchange : names.partnersExchange,
            routingKey: route == .intake ? "partner.\(partner)" : "\(partner).\(batchID)", body: body,
            properties: MessageProperties(
                messageID: batchID, userID: route == .partner ? partner : nil, type: schema,
                appID: (route == .intake ? Sender.intake : Sender.push).appID, headers: headers))
    }
}

extension SignaturesAccepted {
    /// Accepted signatures for tally, to `signatures.accepted`. Its id names the signatures it carries
    /// (first id and count), so that the events re-emitted for a redelivered batch carry the same one.
    public func message(_ names: TopologyNames, from sender: Sender) -> OutgoingMessage {
        let id = events.first.map { "accepted:\($0.signatureID)+\(events.count)" }
        return OutgoingMessage(
            exchange: names.acceptedExchange, routingKey: "accepted", body: WireCodec.encode(self),
            properties: MessageProperties(messageID: id, type: Self.schema, appID: sender.appID))
    }

    /// `events` in messages of at most `perMessage` events each.
    public static func messages(
        _ events: [SignatureAccepted], perMessage: Int, _ names: TopologyNames, from sender: Sender
    ) -> [OutgoingMessage] {
        stride(from: 0, to: events.count, by: max(1, perMessage)).map { start in
            SignaturesAccepted(events: Array(events[start..<min(start + max(1, perMessage), events.count)])).message(names, from: sender)
        }
    }
}

extension MilestoneReached {
    /// A petition crossed a threshold: to `petitions.milestones`, once per petition and threshold (the id
    /// says which, so a second publish of it is recognisably the same).
    public func message(_ names: TopologyNames) -> OutgoingMessage {
        OutgoingMessage(
            exchange: names.milestonesExchange, routingKey: petition, body: WireCodec.encode(self),
            properties: MessageProperties(messageID: "milestone:\(petition):\(threshold)", type: Self.schema, appID: Sender.tally.appID))
    }
}

extension PartnerReceipt {
    /// A partner's receipt, to `partners.receipts` under its name: to its own queue when it has one, not
    /// mandatory (receipts are also kept for `GET /v1/partners/batches/{id}`).
    public func message(_ names: TopologyNames) -> OutgoingMessage {
        OutgoingMessage(
            exchange: names.partnerReceiptsExchange, routingKey: partner, body: WireCodec.encode(self),
            properties: MessageProperties(
                messageID: "receipt:\(partner):\(envelopeID?.uuidString.lowercased() ?? batchID)", type: Self.schema,
                appID: Sender.dedup.appID, correlationID: batchID),
            mandatory: false)
    }
}
