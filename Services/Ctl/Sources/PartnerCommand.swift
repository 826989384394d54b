import AMQP
import ArgumentParser
import Foundation
import Messaging
import Models
import Postgres
import ServiceSupport
import Store

/// Partner accounts: a RabbitMQ user that may only publish to `partners.submitted` under its own routing
/// keys and read its own receipt queue, plus an API key for HTTP batches. Secrets are printed once.
struct PartnerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "partner", abstract: "Add, list, rotate and disable partner accounts.",
        subcommands: [Add.self, List.self, Rotate.self, Disable.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a partner's account and print its credentials (once).")

        @Argument(help: "Partner name: its RabbitMQ login and routing-key prefix (2-32 of a-z, 0-9, -).") var name: String
        @Option(help: "Most AMQP connections the partner may open at once.") var maxConnections = 5
        @Option(help: "Most envelopes waiting in the partner's queue; beyond, the broker nacks its publishes.") var maxBacklog = 2000
        @Option(help: "URL for signed receipt webhooks (optional).") var receiptURL: String?
        @Flag(help: "Print the credentials as JSON.") var json = false

        func validate() throws {
            do { _ = try PartnerCredentials.validateName(name) } catch { throw ValidationError("name \(error.reason)") }
            guard (1...1000).contains(maxConnections) else { throw ValidationError("--max-connections must be 1 to 1000") }
            guard (1...10_000_000).contains(maxBacklog) else { throw ValidationError("--max-backlog must be 1 to 10,000,000") }
            if let receiptURL {
                let parts = URLComponents(string: receiptURL)
                guard let scheme = parts?.scheme?.lowercased(), scheme == "https" || scheme == "http", !(parts?.host ?? "").isEmpty else {
                    throw ValidationError("--receipt-url must be an https:// URL (http:// only to networks delivery is allowed to call)")
                }
            }
        }

        func run() async throws {
            let environment = try Environment()
            let database = try environment.connect()
            guard try Partners.find(name: name, on: database) == nil else {
                throw ValidationError("partner \(name) exists; `undersigned partner rotate \(name)` makes new credentials")
            }
            let credentials = Credentials(name: name)
            try await PartnerAccounts(environment: environment).grant(
                name, password: credentials.password, maxConnections: maxConnections, maxBacklog: maxBacklog, newUser: true)
            try Partners.create(
                name: name, apiKey: credentials.apiKey, maxConnections: maxConnections, maxBacklog: maxBacklog, receiptURL: receiptURL,
                webhookSecret: credentials.webhookSecret, on: database)
            credentials.print(environment: environment, json: json, verb: "added", receiptURL: receiptURL)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List partners with their status and open connections.")

        func run() async throws {
            let environment = try Environment()
            let partners = try Partners.list(on: try environment.connect())
            let connections = (try? await PartnerAccounts(environment: environment).management.connectionCounts()) ?? [:]
            print("partner".column(34) + "status    connections  created")
            for partner in partners {
                print(partner.name.column(34)
                      + partner.status.rawValue.column(10)
                      + "\(connections[partner.name] ?? 0)/\(partner.maxConnections)".column(13)
                      + Timestamp.format(partner.createdAt))
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make new credentials for a partner (the old ones stop working, open connections are closed); re-enables a disabled partner.")

        @Argument(help: "Partner name.") var name: String
        @Flag(help: "Print the credentials as JSON.") var json = false

        func run() async throws {
            let environment = try Environment()
            let database = try environment.connect()
            guard let partner = try Partners.find(name: name, on: database) else { throw ValidationError("no partner \(name)") }
            let credentials = Credentials(name: name)
            let accounts = try PartnerAccounts(environment: environment)
            try await accounts.grant(name, password: credentials.password, maxConnections: partner.maxConnections, maxBacklog: partner.maxBacklog)
            _ = try await accounts.management.closeConnections(of: name)
            try Partners.rotate(name: name, apiKey: credentials.apiKey, webhookSecret: credentials.webhookSecret, on: database)
            credentials.print(environment: environment, json: json, verb: "rotated", receiptURL: partner.receiptURL)
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop a partner: no more publishing or reading, open connections closed, API key refused. What it sent is still processed.")

        @Argument(help: "Partner name.") var name: String

        func run() async throws {
            let environment = try Environment()
            let database = try environment.connect()
            guard try Partners.find(name: name, on: database) != nil else { throw ValidationError("no partner \(name)") }
            try Partners.setStatus(.disabled, name: name, on: database)
            let accounts = try PartnerAccounts(environment: environment)
            try await accounts.revoke(name)
            let closed = try await accounts.management.closeConnections(of: name)
            print("partner \(name) disabled (\(closed) connections closed); `undersigned partner rotate \(name)` re-enables it with new credentials")
        }
    }

    /// New secrets for a partner, shown once.
    struct Credentials {
        let name: String
        let password = PartnerCredentials.newPassword()
        let apiKey = PartnerCredentials.newAPIKey()
        let webhookSecret = WebhookSignature.newSecret()

        func print(environment: Environment, json: Bool, verb: String, receiptURL: String?) {
            let amqp = environment.common.amqp
            let names = environment.common.topology
            let vhost = RabbitManagement.segment(amqp.virtualHost)
            let url = "amqp://\(name):\(password)@\(amqp.host):\(amqp.port)/\(vhost)"
            if json {
                var object: [String: Any] = [
                    "partner": name, "amqp_url": url, "user": name, "password": password, "api_key": apiKey,
                    "exchange": names.partnersExchange, "routing_key_prefix": name + ".", "receipt_queue": names.partnerReceiptsQueue(name),
                ]
                if let receiptURL {
                    object["receipt_url"] = receiptURL
                    object["webhook_secret"] = webhookSecret
                }
                let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
                Swift.print(String(decoding: data, as: UTF8.self))
                return
            }
            Swift.print("""
                partner \(name) \(verb). These credentials are shown once: hand them to the partner's engineer over a secure channel.
                  AMQP URL:      \(url)
                  publish to:    exchange \(names.partnersExchange), routing key \(name).<batch>, property user_id=\(name), persistent, with confirms
                  receipts:      queue \(names.partnerReceiptsQueue(name))
                  backlog:       the broker nacks your publishes while \(names.partnerSubmittedQueue(name)) holds its limit of envelopes: resend later
                  API key:       \(apiKey)   (HTTP batches: Authorization: Bearer <key>)
                """ + (receiptURL.map { "\n  webhooks:      receipts POSTed to \($0), signed with \(webhookSecret)" } ?? "")
                + "\nThe contract: docs/partners.md")
        }
    }
}

/// What a partner account is on the broker.
struct PartnerAccounts {
    let management: RabbitManagement
    let names: TopologyNames
    let amqp: AMQPConfiguration

    init(environment: Environment) throws {
        let reader = ConfigurationReader()
        let url = reader.string("UNDERSIGNED_RABBITMQ_MANAGEMENT_URL", default: "http://guest:guest@127.0.0.1:15672")
        try reader.finish()
        management = try RabbitManagement(url: url, vhost: environment.common.amqp.virtualHost)
        names = environment.common.topology
        amqp = environment.common.amqp
    }

    static func escaped(_ text: String) -> String { NSRegularExpression.escapedPattern(for: text) }

    /// Creates or updates the user with least privilege: write to the partners exchange only, with
    /// routing keys `<name>` or `<name>.…` only; read its own receipt queue only; configure nothing.
    /// Sets up (or, for a rotation, renews) the partner's broker account. A new partner never takes the name
    /// of a broker user that exists: that is a service's or an administrator's login, and its password would
    /// be replaced.
    static let backlogBytesPerEnvelope = 256 * 1024

    func grant(_ name: String, password: String, maxConnections: Int, maxBacklog: Int, newUser: Bool = false) async throws {
        let user = RabbitManagement.segment(name)
        if newUser, try await management.call(.GET, "/api/users/\(user)", allowing: [404]).0 != 404 {
            throw ValidationError("a broker user named \(name) exists already (a service's or an administrator's login): choose another partner name")
        }
        // The exchanges are declared by the services; declare them here too, in case none ran yet, and the
        // partner's submission queue, as dedup declares it.
        let admin = try AMQPAdmin(configuration: amqp)
        try admin.declare(Topology.undersigned(names))
        try admin.declare(Topology.partnerSubmissions(names, partner: name))
        let submitted = names.partnerSubmittedQueue(name)
        try await management.call(.PUT, "/api/policies/\(management.vhostSegment)/\(RabbitManagement.segment("partner-backlog-" + name))", [
            "pattern": "^\(Self.escaped(submitted))$", "apply-to": "queues", "priority": 10,
            // In bytes too (256 KiB an envelope, about 500 signatures): a partner sending envelopes near the
            // broker's 4 MiB message limit cannot fill the broker's disk with its backlog.
            "definition": ["max-length": maxBacklog, "max-length-bytes": maxBacklog * Self.backlogBytesPerEnvelope, "overflow": "reject-publish"],
        ])
        let vhost = management.vhostSegment
        let queue = names.partnerReceiptsQueue(name)
        try await management.call(.PUT, "/api/users/\(user)", ["password": password, "tags": ""])
        try await management.call(.PUT, "/api/permissions/\(vhost)/\(user)", [
            "configure": "^$", "write": "^\(Self.escaped(names.partnersExchange))$", "read": "^\(Self.escaped(queue))$",
        ])
        try await management.call(.PUT, "/api/topic-permissions/\(vhost)/\(user)", [
            "exchange": names.partnersExchange, "write": "^\(Self.escaped(name))(\\..*)?$", "read": "^$",
        ])
        try await management.call(.PUT, "/api/user-limits/\(user)/max-connections", ["value": maxConnections])
        // Receipts wait a week at most, 100,000 at most (the oldest go first); they are also kept for GET.
        try await management.call(.PUT, "/api/queues/\(vhost)/\(RabbitManagement.segment(queue))", [
            "durable": true, "auto_delete": false,
            "arguments": ["x-queue-type": "quorum", "x-max-length": 100_000, "x-overflow": "drop-head", "x-message-ttl": 604_800_000],
        ])
        try await management.call(
            .POST, "/api/bindings/\(vhost)/e/\(RabbitManagement.segment(names.partnerReceiptsExchange))/q/\(RabbitManagement.segment(queue))",
            ["routing_key": name])
    }

    /// Takes every permission away (the user stays, so `rotate` can bring it back).
    func revoke(_ name: String) async throws {
        let user = RabbitManagement.segment(name)
        try await management.call(.DELETE, "/api/permissions/\(management.vhostSegment)/\(user)", allowing: [404])
        try await management.call(.DELETE, "/api/topic-permissions/\(management.vhostSegment)/\(user)", allowing: [404])
    }
}
