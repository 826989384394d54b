import AMQP
import Foundation

/// Each service's own broker login and the least it may do (RabbitMQ's configure, write and read
/// permissions, regular expressions over exchange and queue names). No service may configure anything:
/// the topology is declared beforehand (`undersigned broker setup`, or the broker's definitions), and the
/// services only check it with passive declares. So a service that is taken over cannot delete a queue,
/// read another's, or publish where it never does (tally cannot write `signatures.submitted`).
///
/// | service  | writes (exchanges)                                  | reads (queues)                              |
/// |----------|-----------------------------------------------------|---------------------------------------------|
/// | intake   | signatures.submitted, signatures.accepted (verified) | none                                        |
/// | dedup    | signatures.accepted, partners.receipts, dead         | dedup.submitted, partner.NAME.submitted     |
/// | tally    | petitions.milestones, dead                          | tally.accepted                              |
/// | delivery | dead                                                | delivery.milestones, delivery.receipts      |
public struct ServiceAccount: Sendable, Equatable {
    public var service: String
    /// The broker login: `undersigned-<service>` (partner names can never take it).
    public var user: String
    public var configure: String
    public var write: String
    public var read: String

    /// The four services' accounts for a topology.
    public static func all(_ names: TopologyNames = TopologyNames()) -> [ServiceAccount] {
        [
            ServiceAccount(service: "intake", writes: [names.submittedExchange, names.acceptedExchange], reads: []),
            ServiceAccount(
                service: "dedup", writes: [names.acceptedExchange, names.partnerReceiptsExchange, names.deadExchange],
                // Every partner's submission queue: the queue's name with any partner name in it.
                reads: [names.dedupQueue], readPattern: escaped(names.partnerSubmittedQueue("\u{0}"))
                    .replacingOccurrences(of: "\u{0}", with: "[a-z0-9-]+")),
            ServiceAccount(service: "tally", writes: [names.milestonesExchange, names.deadExchange], reads: [names.tallyQueue]),
            ServiceAccount(
                service: "delivery", writes: [names.deadExchange], reads: [names.deliveryMilestonesQueue, names.deliveryReceiptsQueue]),
        ]
    }

    public static func named(_ service: String, _ names: TopologyNames = TopologyNames()) -> ServiceAccount? {
        all(names).first { $0.service == service }
    }

    init(service: String, writes: [String], reads: [String], readPattern: String? = nil) {
        self.service = service
        user = "undersigned-" + service
        configure = "^$"
        write = Self.exactly(writes.map(Self.escaped))
        read = Self.exactly(reads.map(Self.escaped) + (readPattern.map { [$0] } ?? []))
    }

    /// `^(a|b)$`, or `^$` (nothing) for no names.
    static func exactly(_ alternatives: [String]) -> String {
        alternatives.isEmpty ? "^$" : "^(" + alternatives.joined(separator: "|") + ")$"
    }

    static func escaped(_ name: String) -> String { NSRegularExpression.escapedPattern(for: name) }

    /// Whether a permission pattern lets this account at `resource` (as the broker matches it).
    public static func allows(_ pattern: String, _ resource: String) -> Bool {
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return false }
        return expression.firstMatch(in: resource, range: NSRange(resource.startIndex..., in: resource)) != nil
    }
}
