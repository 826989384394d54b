import AMQP
import ArgumentParser
import Messaging
import Store

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue depths, dead letters, petition counts, and what waits to be sent (deliveries, webhook calls, verification mails).")

    func run() throws {
        let environment = try Environment()
        let names = environment.common.topology
        let admin = try AMQPAdmin(configuration: environment.common.amqp(role: "ctl"))
        try admin.declare(.undersigned(names))
        print("queue\tready\tconsumers\tdead")
        for queue in names.workQueues {
            let status = try admin.queueStatus(queue)
            let dead = try admin.queueStatus(names.deadQueue(for: queue))
            print("\(queue)\t\(status.messages)\t\(status.consumers)\t\(dead.messages)")
        }
        let connection = try environment.connect()
        let totals = try Counts.totals(on: connection)
        print("\npetition\tstatus\tcount")
        for petition in try Petitions.list(on: connection) {
            print("\(petition.slug)\t\(petition.phase().rawValue)\t\(totals[petition.id] ?? 0)")
        }
        // Failed rows wait for an operator: `undersigned deliveries SLUG --retry-failed`, `webhooks retry`.
        print("\noutbox\tpending\tfailed\toldest_pending_s")
        for (name, outbox) in [("deliveries", Outbox.deliveries), ("webhook calls", .webhooks), ("verification mails", .verifications)] {
            let backlog = try outbox.backlog(on: connection)
            print("\(name)\t\(backlog.pending)\t\(backlog.failed)\t\(Int(backlog.oldestPendingSeconds.rounded()))")
        }
        print("")
        SwitchCommand.table(try Switches.all(on: connection))
    }
}
