import AMQP
import ArgumentParser
import Foundation
import Messaging

/// The broker as the services need it: the topology declared once by an administrator, and one login per
/// service with only the permissions it needs (`ServiceAccount`).
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker", abstract: "Set up the broker: topology and the services' least-privilege logins.",
        subcommands: [Setup.self, Accounts.self])

    struct Setup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Declare the exchanges and queues, and create or update each service's login.",
            discussion: """
                The password of service S is read from UNDERSIGNED_BROKER_PASSWORD_<S> (INTAKE, DEDUP, TALLY, DELIVERY); \
                a service without one is left alone. Run as an administrator (UNDERSIGNED_AMQP_URL and \
                UNDERSIGNED_RABBITMQ_MANAGEMENT_URL); safe to run again (a password given again is set again).
                """)

        func run() async throws {
            let environment = try Environment()
            let names = environment.common.topology
            try AMQPAdmin(configuration: environment.common.amqp).declare(.undersigned(names))
            print("topology declared (\(Topology.undersigned(names).queues.count) queues)")
            let accounts = try PartnerAccounts(environment: environment)
            let management = accounts.management
            let passwords = ProcessInfo.processInfo.environment
            for account in ServiceAccount.all(names) {
                guard let password = passwords["UNDERSIGNED_BROKER_PASSWORD_" + account.service.uppercased()], !password.isEmpty else {
                    print("\(account.user): no UNDERSIGNED_BROKER_PASSWORD_\(account.service.uppercased()), left alone")
                    continue
                }
                let user = RabbitManagement.segment(account.user)
                try await management.call(.PUT, "/api/users/\(user)", ["password": password, "tags": ""])
                try await management.call(.PUT, "/api/permissions/\(management.vhostSegment)/\(user)", [
                    "configure": account.configure, "write": account.write, "read": account.read,
                ])
                print("\(account.user): configure \(account.configure)  write \(account.write)  read \(account.read)")
            }
        }
    }

    struct Accounts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print each service's login and permissions (as JSON).")

        func run() throws {
            let names = try Environment().common.topology
            let rows = ServiceAccount.all(names).map {
                ["service": $0.service, "user": $0.user, "configure": $0.configure, "write": $0.write, "read": $0.read]
            }
            let data = try JSONSerialization.data(withJSONObject: rows, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
            print(String(decoding: data, as: UTF8.self))
        }
    }
}
