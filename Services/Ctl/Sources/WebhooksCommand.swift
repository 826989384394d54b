import ArgumentParser
import Foundation
import Models
import Store

/// The webhook outbox: what was called, what is pending, what failed; and putting failed calls back.
struct WebhooksCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "webhooks", abstract: "List webhook calls (partner receipts) and retry failed ones.",
        subcommands: [List.self, Retry.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The latest webhook calls.")

        @Option(help: "pending, delivered or failed.") var state: String?
        @Option(help: "How many.") var limit = 50

        func validate() throws {
            if let state, WebhookDelivery.State(rawValue: state) == nil { throw ValidationError("--state must be pending, delivered or failed") }
        }

        func run() throws {
            let calls = try Webhooks.list(state: state.flatMap(WebhookDelivery.State.init), limit: limit, on: try Environment().connect())
            print("id      state      attempts  last  kind             owner                 created")
            for call in calls {
                print([
                    String(call.id).column(8),
                    call.state.rawValue.column(11),
                    String(call.attempts).column(10),
                    (call.lastStatus.map(String.init) ?? "-").column(6),
                    call.kind.column(17),
                    call.owner.column(22),
                    Timestamp.format(call.createdAt),
                ].joined() + (call.state == .failed ? "  \(call.lastError ?? "")" : ""))
            }
        }
    }

    struct Retry: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Put failed calls back (one, or all) with a new give-up window.")

        @Argument(help: "The call's id (see `webhooks list --state failed`).") var id: Int64?
        @Flag(help: "Every failed call.") var allFailed = false
        @Option(help: "Hours to keep trying.") var hours = 24

        func validate() throws {
            guard (id == nil) != !allFailed else { throw ValidationError("name one call's id, or --all-failed") }
        }

        func run() throws {
            let count = try Webhooks.retry(id: id, giveUpAfter: .seconds(hours * 3600), on: try Environment().connect())
            print("\(count) webhook calls put back; delivery makes them within seconds")
        }
    }
}
