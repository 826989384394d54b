import AMQP
import ArgumentParser
import Store

struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Queue depths, dead letters and petition counts.")

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
            print("\(petition.slug)\t\(petition.isTakingSignatures() ? "open" : "closed")\t\(totals[petition.id] ?? 0)")
        }
    }
}
