import ArgumentParser
import Foundation
import Models
import Store

/// `undersigned kiosk`: devices that take signatures at a venue, even offline.
struct KioskCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiosk", abstract: "Register, list and revoke kiosks (devices that take signatures at a venue, even offline).",
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a kiosk and print, once, the link that sets a device up (its token is in the link's fragment, never sent to a server).",
            discussion: """
                A kiosk's signatures are recorded with source kiosk:NAME and pass the per-address limit (a venue's Wi-Fi is one \
                address for every kiosk). Only the token's SHA-256 is kept: a lost token is replaced by revoking the kiosk and \
                adding it again.
                """)
        @Argument(help: "Its name: lower-case letters, digits and dashes, e.g. main-gate-1.") var name: String
        @Option(help: "The petition the device signs for (the link opens its kiosk page).") var petition: String?

        func validate() throws {
            do { _ = try Kiosks.validateName(name) } catch { throw ValidationError("name \(error.reason)") }
        }

        func run() throws {
            let environment = try Environment()
            let connection = try environment.connect()
            if let petition, try Petitions.find(slug: petition, on: connection) == nil { throw ValidationError("no petition \(petition)") }
            let token: String
            do { token = try Kiosks.add(name: name, on: connection) } catch let problem as ValidationProblem { throw ValidationError(problem.reason) }
            print("kiosk \(name) registered (every intake within 5 s). Its token, shown this once:")
            print("  \(token)")
            print("Open on the device:")
            print("  \(environment.common.publicURL)/kiosk/\(petition ?? "SLUG")#kiosk=\(token)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List kiosks with their signatures.")

        func run() throws {
            let kiosks = try Kiosks.list(on: Environment().connect())
            print("kiosk".column(24) + "state".column(9) + "signatures".column(12) + "since")
            for kiosk in kiosks {
                print(kiosk.name.column(24) + (kiosk.revokedAt == nil ? "in use" : "REVOKED").column(9) + String(kiosk.signatures).column(12)
                    + Timestamp.format(kiosk.revokedAt ?? kiosk.createdAt))
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a kiosk: within seconds every intake refuses its token (401); what it holds stays on the device.")
        @Argument var name: String

        func run() throws {
            guard try Kiosks.revoke(name: name, on: Environment().connect()) else { throw ValidationError("no kiosk \(name) in use") }
            print("kiosk \(name) revoked (every intake within 5 s)")
        }
    }
}
