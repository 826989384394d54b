import AMQP

/// The names of Undersigned's exchanges and queues. A `prefix` keeps several suites (or tests) apart on
/// one broker; production uses none.
public struct TopologyNames: Sendable, Equatable {
    public let prefix: String

    public init(prefix: String = "") {
        self.prefix = prefix
    }

    /// Intake publishes envelopes here.
    public var submittedExchange: String { prefix + "signatures.submitted" }
    /// Partners publish envelopes here, routing key `<partner>` or `<partner>.<anything>`; each partner's
    /// own queue takes its keys (see `Topology.partnerSubmissions`).
    public var partnersExchange: String { prefix + "partners.submitted" }
    /// Dedup publishes each partner envelope's `PartnerReceipt` here, routing key = the partner's login;
    /// each partner's receipt queue (made by `undersigned partner add`) is bound with its name.
    public var partnerReceiptsExchange: String { prefix + "partners.receipts" }
    /// A partner's envelopes wait here for dedup; its length limit (a policy set by `undersigned partner
    /// add --max-backlog`) with `reject-publish` makes the broker nack a partner that is too far ahead.
    public func partnerSubmittedQueue(_ partner: String) -> String { prefix + "partner.\(partner).submitted" }
    /// A partner's own receipt queue; only that partner may read it.
    public func partnerReceiptsQueue(_ partner: String) -> String { prefix + "partner.\(partner).receipts" }
    /// Dedup publishes `SignaturesAccepted` here.
    public var acceptedExchange: String { prefix + "signatures.accepted" }
    /// Tally publishes `MilestoneReached` here.
    public var milestonesExchange: String { prefix + "petitions.milestones" }
    /// Every queue dead-letters here, routing key = the queue's name.
    public var deadExchange: String { prefix + "undersigned.dead" }

    public var dedupQueue: String { prefix + "dedup.submitted" }
    public var tallyQueue: String { prefix + "tally.accepted" }
    public var deliveryMilestonesQueue: String { prefix + "delivery.milestones" }
    public var deliveryReceiptsQueue: String { prefix + "delivery.receipts" }

    public var workQueues: [String] { [dedupQueue, tallyQueue, deliveryMilestonesQueue, deliveryReceiptsQueue] }

    /// Where dead letters of `queue` are kept.
    public func deadQueue(for queue: String) -> String { queue + ".dead" }
}

extension Topology {
    /// Redeliveries of one message before the broker dead-letters it (quorum queue `x-delivery-limit`).
    public static let deliveryLimit: Int64 = 10

    /// Undersigned's topology. Work queues are quorum queues that dead-letter to `undersigned.dead`
    /// with their own name as routing key; each has a `<queue>.dead` quorum queue behind it.
    public static func undersigned(_ names: TopologyNames = TopologyNames()) -> Topology {
        let exchanges = [
            Exchange(name: names.submittedExchange, type: "topic"),
            Exchange(name: names.partnersExchange, type: "topic"),
            Exchange(name: names.partnerReceiptsExchange, type: "topic"),
            Exchange(name: names.acceptedExchange, type: "topic"),
            Exchange(name: names.milestonesExchange, type: "topic"),
            Exchange(name: names.deadExchange, type: "direct"),
        ]
        var queues: [Queue] = []
        var bindings: [Binding] = []
        for queue in names.workQueues {
            queues.append(Queue(name: queue, arguments: [
                "x-queue-type": .string("quorum"),
                "x-dead-letter-exchange": .string(names.deadExchange),
                "x-dead-letter-routing-key": .string(queue),
                "x-delivery-limit": .int(deliveryLimit),
            ]))
            let dead = names.deadQueue(for: queue)
            queues.append(Queue(name: dead, arguments: ["x-queue-type": .string("quorum")]))
            bindings.append(Binding(queue: dead, exchange: names.deadExchange, routingKey: queue))
        }
        bindings += [
            Binding(queue: names.dedupQueue, exchange: names.submittedExchange, routingKey: "#"),
            Binding(queue: names.tallyQueue, exchange: names.acceptedExchange, routingKey: "#"),
            Binding(queue: names.deliveryMilestonesQueue, exchange: names.milestonesExchange, routingKey: "#"),
            Binding(queue: names.deliveryReceiptsQueue, exchange: names.partnerReceiptsExchange, routingKey: "#"),
        ]
        return Topology(exchanges: exchanges, queues: queues, bindings: bindings)
    }

    /// One partner's submission queue, bound to its routing keys. Declared by `undersigned partner add`
    /// and by dedup before it consumes it (the same arguments, so either may come first). Its dead letters
    /// join dedup's (`dedup.submitted.dead`).
    public static func partnerSubmissions(_ names: TopologyNames, partner: String) -> Topology {
        let queue = names.partnerSubmittedQueue(partner)
        return Topology(
            exchanges: [Exchange(name: names.partnersExchange, type: "topic"), Exchange(name: names.deadExchange, type: "direct")],
            queues: [Queue(name: queue, arguments: [
                "x-queue-type": .string("quorum"),
                "x-dead-letter-exchange": .string(names.deadExchange),
                "x-dead-letter-routing-key": .string(names.dedupQueue),
                "x-delivery-limit": .int(deliveryLimit),
            ])],
            bindings: [
                Binding(queue: queue, exchange: names.partnersExchange, routingKey: partner),
                Binding(queue: queue, exchange: names.partnersExchange, routingKey: partner + ".#"),
            ])
    }
}
