import ArgumentParser
import Foundation
import Models
import Store

extension PetitionCommand {
    struct AddTarget: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-target",
            abstract: "Add someone the petition is delivered to (or change the target with this name).",
            discussion: """
                Exactly one of --webhook, --email or --directory says how packages reach the target. A webhook target's
                signing secret is printed once, when the target is made; give it to the receiver.
                  undersigned petition add-target digital-peace-now un-sg --title "UN Secretary-General" --kind un-body \\
                    --webhook https://inbox.example.org/petitions
                """)

        @Argument(help: "The petition's slug.") var petition: String
        @Argument(help: "The target's short name: lower-case letters, digits and dashes.") var name: String
        @Option(help: "How the letter addresses the target, e.g. \"Office of the UN Secretary-General\".") var title: String
        @Option(help: "What kind of target: head-of-government, head-of-state, parliament, un-body, minister, organisation, other.")
        var kind = "other"
        @Option(help: "Comma-separated ISO country codes whose signers it receives, or all.") var countries = "all"
        @Option(help: "POST packages to this http(s) URL (signed).") var webhook: String?
        @Option(help: "E-mail packages to this address (through UNDERSIGNED_SMTP_URL).") var email: String?
        @Option(help: "Write packages into this directory (absolute path).") var directory: String?
        @Option(help: "What starts a delivery, comma-separated: milestone, daily, close.") var on = "milestone,close"
        @Flag(help: "Print the target (and a new secret) as JSON.") var json = false

        func validate() throws {
            guard [webhook, email, directory].compactMap({ $0 }).count == 1 else {
                throw ValidationError("give exactly one of --webhook URL, --email ADDRESS or --directory PATH")
            }
            guard !triggers.isEmpty, triggers.count == on.split(separator: ",").count else {
                throw ValidationError("--on takes milestone, daily and close, separated by commas")
            }
        }

        var triggers: [DeliveryTarget.Trigger] {
            on.split(separator: ",").compactMap { DeliveryTarget.Trigger(rawValue: $0.trimmingCharacters(in: .whitespaces)) }
        }

        func run() throws {
            let (transport, address): (DeliveryTarget.Transport, String) =
                if let webhook { (.webhook, webhook) } else if let email { (.email, email) } else { (.files, directory ?? "") }
            let codes = countries.lowercased() == "all" ? nil : countries.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
            let saved: (target: DeliveryTarget, newSecret: String?)
            do {
                saved = try Deliveries.saveTarget(
                    petition: petition, name: name, title: title, kind: kind, countries: codes, transport: transport, address: address,
                    triggers: triggers, on: Environment().connect())
            } catch let error as Deliveries.TargetError {
                throw ValidationError(error.description)
            }
            if json {
                var object: [String: Any] = [
                    "petition": petition, "name": saved.target.name, "transport": transport.rawValue, "address": address,
                    "countries": saved.target.countries ?? "all", "triggers": saved.target.triggers.map(\.rawValue),
                ]
                if let secret = saved.newSecret { object["webhook_secret"] = secret }
                print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print("target \(saved.target.name) of \(petition): \(transport.rawValue) \(address), "
                + "countries \(saved.target.countries?.joined(separator: ",") ?? "all"), on \(saved.target.triggers.map(\.rawValue).joined(separator: ","))")
            if let secret = saved.newSecret {
                print("webhook secret (shown once; the receiver checks X-Undersigned-Signature with it): \(secret)")
            }
        }
    }

    struct Targets: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a petition's delivery targets.")
        @Argument var petition: String
        @Flag(help: "Removed ones too.") var all = false

        func run() throws {
            for target in try Deliveries.targets(petition: petition, all: all, on: Environment().connect()) {
                print([
                    target.name, target.active ? "active" : "removed", target.transport.rawValue, target.address,
                    target.countries?.joined(separator: ",") ?? "all", target.triggers.map(\.rawValue).joined(separator: ","), target.title,
                ].joined(separator: "\t"))
            }
        }
    }

    struct RemoveTarget: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove-target", abstract: "Stop delivering to a target (its deliveries stay on record).")
        @Argument var petition: String
        @Argument var name: String

        func run() throws {
            guard try Deliveries.deactivate(petition: petition, name: name, on: Environment().connect()) else {
                throw ValidationError("petition \(petition) has no target \(name)")
            }
            print("target \(name) of \(petition) removed")
        }
    }
}

/// `undersigned deliver`: a delivery now, by hand.
struct DeliverCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliver",
        abstract: "Deliver a petition's new signatures to its targets now (or to one target).",
        discussion: """
            Each target gets the signatures since its last delivery (--full: all of them). With --key, running the same
            command again makes no second delivery (for scripts and cron); without it, a second run delivers only what is new.
            The delivery service builds and sends the packages; follow them with `undersigned deliveries PETITION`.
            """)

    @Argument var petition: String
    @Option(help: "Only this target.") var target: String?
    @Flag(help: "All of the target's signatures, not only those since its last delivery.") var full = false
    @Option(help: "An idempotency key: the same key twice is one delivery per target.") var key: String?
    @Option(help: "Hours to keep trying before the delivery fails.") var hours = 72

    func run() throws {
        let connection = try Environment().connect()
        var targets = try Deliveries.targets(petition: petition, on: connection)
        if let target { targets = targets.filter { $0.name == target } }
        guard !targets.isEmpty else {
            throw ValidationError(target.map { "petition \(petition) has no active target \($0)" } ?? "petition \(petition) has no delivery targets (see `petition add-target`)")
        }
        let trigger = "manual:" + (key ?? UUID().uuidString.lowercased())
        for target in targets {
            switch try Deliveries.plan(target: target, trigger: trigger, full: full, giveUpAfter: .seconds(hours * 3600), on: connection) {
            case .created(let delivery):
                print("delivery \(delivery.id) to \(target.name): signatures \(delivery.afterID + 1)…\(delivery.throughID) by id, being built and sent")
            case .existing(let delivery):
                print("delivery \(delivery.id) to \(target.name) exists for this key (\(delivery.state.rawValue)); nothing new planned")
            case .nothingNew:
                print("\(target.name): no new signatures since its last delivery")
            }
        }
    }
}

/// `undersigned deliveries`: what was delivered, what is pending, what failed.
struct DeliveriesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deliveries", abstract: "Show a petition's deliveries; put failed ones back.")

    @Argument var petition: String
    @Flag(help: "As JSON (the same as GET /v1/petitions/{slug}/deliveries).") var json = false
    @Option(help: "Put this failed delivery back (a fresh give-up window).") var retry: Int64?
    @Flag(help: "Put every failed delivery of the petition back.") var retryFailed = false
    @Option(help: "Hours to keep trying a delivery put back.") var hours = 72

    func run() throws {
        let connection = try Environment().connect()
        if retry != nil || retryFailed {
            let failed = try Deliveries.list(petition: petition, on: connection).filter { $0.state == .failed && (retry == nil || $0.id == retry) }
            var count = 0
            for delivery in failed { count += try Outbox.deliveries.retry(id: delivery.id, giveUpAfter: .seconds(hours * 3600), on: connection) }
            print("\(count) deliveries put back; the delivery service takes them up within seconds")
            return
        }
        let deliveries = try Deliveries.list(petition: petition, on: connection)
        if json {
            print(String(decoding: try DeliveryRecord.json(deliveries), as: UTF8.self))
            return
        }
        print("id      target                transport  trigger               state      signatures  attempts  last  sha256        created")
        for delivery in deliveries {
            let columns: [(String, Int)] = [
                (String(delivery.id), 8), (delivery.target, 22), (delivery.transport.rawValue, 11), (delivery.trigger, 22),
                (delivery.state.rawValue, 11), (delivery.signatures.map(String.init) ?? "-", 12), (String(delivery.attempts), 10),
                (delivery.lastStatus.map(String.init) ?? "-", 6), (String((delivery.csvSHA256 ?? "-").prefix(12)), 14),
            ]
            var line = columns.map { $0.0.column($0.1) }.joined() + Timestamp.format(delivery.createdAt)
            if delivery.state != .delivered, let error = delivery.lastError { line += "  \(error)" }
            print(line)
        }
    }
}
