import AMQP
import Messaging
import Testing

/// Each service's broker login may write, read and configure exactly what it needs (its patterns,
/// matched as the broker matches them, against every exchange and queue of the topology).
@Suite("Service accounts")
struct ServiceAccountTests {
    static let names = TopologyNames()
    static let topology = Topology.undersigned(names)

    static let writes: [String: Set<String>] = [
        "intake": [names.submittedExchange, names.acceptedExchange],
        "dedup": [names.acceptedExchange, names.partnerReceiptsExchange, names.deadExchange],
        "tally": [names.milestonesExchange, names.deadExchange],
        "delivery": [names.deadExchange],
    ]
    static let reads: [String: Set<String>] = [
        "intake": [],
        "dedup": [names.dedupQueue, names.partnerSubmittedQueue("acme"), names.partnerSubmittedQueue("green-7")],
        "tally": [names.tallyQueue],
        "delivery": [names.deliveryMilestonesQueue, names.deliveryReceiptsQueue],
    ]
    static let queues = topology.queues.map(\.name) + [
        names.partnerSubmittedQueue("acme"), names.partnerSubmittedQueue("green-7"), names.partnerReceiptsQueue("acme"),
        "partner.acme.submitted.extra", "xdedup.submitted",
    ]

    @Test(arguments: ServiceAccount.all(names))
    func writesOnlyWhereItPublishes(account: ServiceAccount) {
        for exchange in Self.topology.exchanges.map(\.name) + ["", "amq.default", "amq.topic"] {
            #expect(ServiceAccount.allows(account.write, exchange) == Self.writes[account.service]!.contains(exchange), "\(account.service) write \(exchange)")
        }
    }

    @Test(arguments: ServiceAccount.all(names))
    func readsOnlyWhatItConsumes(account: ServiceAccount) {
        for queue in Self.queues {
            #expect(ServiceAccount.allows(account.read, queue) == Self.reads[account.service]!.contains(queue), "\(account.service) read \(queue)")
        }
    }

    @Test(arguments: ServiceAccount.all(names))
    func configuresNothing(account: ServiceAccount) {
        for resource in Self.queues + Self.topology.exchanges.map(\.name) {
            #expect(!ServiceAccount.allows(account.configure, resource))
        }
        #expect(account.user == "undersigned-" + account.service)
    }

    @Test func aPrefixedTopologyHasItsOwnPatterns() {
        let tally = ServiceAccount.named("tally", TopologyNames(prefix: "t1."))!
        #expect(ServiceAccount.allows(tally.read, "t1.tally.accepted"))
        #expect(!ServiceAccount.allows(tally.read, "tally.accepted"))
        #expect(!ServiceAccount.allows(tally.read, "t1xtally.accepted"))
    }
}
