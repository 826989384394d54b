import ArgumentParser
import Foundation
import Models
import Store

struct PetitionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "petition", abstract: "Create, list, open and close petitions; name who they are delivered to.",
        subcommands: [
            Create.self, List.self, Open.self, Close.self, SetMilestones.self, Verification.self, AddTarget.self, Targets.self, RemoveTarget.self,
        ])

    struct Verification: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Require (on) or stop requiring (off) that signers confirm by e-mail before their signature counts.")
        @Argument var slug: String
        @Argument(help: "on or off.") var state: String

        func run() throws {
            guard state == "on" || state == "off" else { throw ValidationError("say on or off") }
            guard try Petitions.setVerification(state == "on", slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug): signer verification \(state)")
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a petition, or update its title, text and milestones.")

        @Argument(help: "Slug: lower-case letters, digits and dashes, e.g. digital-peace-now.") var slug: String
        @Option(help: "Title shown to signers.") var title: String
        @Option(help: "The petition's text.") var body: String = ""
        @Option(help: "Comma-separated thresholds, e.g. 1000,10000,100000.") var milestones: String?
        @Option(help: "Closing time, RFC 3339 (e.g. 2027-01-31T23:59:59Z).") var closesAt: String?
        @Flag(help: "Count a signature only once its signer confirmed it by the link e-mailed to them.") var requireVerification = false

        func validate() throws {
            do { _ = try PetitionSlug.validate(slug) } catch { throw ValidationError("slug \(error.reason)") }
            if let closesAt, Timestamp.parse(closesAt) == nil { throw ValidationError("--closes-at must be an RFC 3339 time") }
            if let milestones, milestones.split(separator: ",").contains(where: { Int64($0) == nil || Int64($0)! <= 0 }) {
                throw ValidationError("--milestones must be positive whole numbers separated by commas")
            }
        }

        func run() throws {
            let connection = try Environment().connect()
            let thresholds = milestones.map { $0.split(separator: ",").compactMap { Int64($0) } } ?? Petitions.defaultMilestones
            // One transaction: a petition made to require verification never takes a signature without it.
            let petition = try connection.transaction { connection in
                let petition = try Petitions.upsert(
                    slug: slug, title: title, body: body, milestones: thresholds, closesAt: closesAt.flatMap(Timestamp.parse),
                    on: connection)
                if requireVerification { try Petitions.setVerification(true, slug: slug, on: connection) }
                return petition
            }
            print("petition \(petition.slug) (\(petition.status.rawValue)): \(petition.title)"
                + (requireVerification ? "; signatures count once confirmed by e-mail" : ""))
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List petitions with their counts.")

        func run() throws {
            let connection = try Environment().connect()
            let totals = try Counts.totals(on: connection)
            for petition in try Petitions.list(on: connection) {
                let state = petition.isTakingSignatures() ? "open" : "closed"
                print("\(petition.slug)\t\(state)\t\(totals[petition.id] ?? 0)\t\(petition.title)")
            }
        }
    }

    struct SetMilestones: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-milestones", abstract: "Replace a petition's milestone thresholds (each is announced once when crossed).")
        @Argument var slug: String
        @Argument(help: "Comma-separated thresholds, e.g. 1000,10000,100000.") var milestones: String

        func run() throws {
            let thresholds = milestones.split(separator: ",").compactMap { Int64($0.trimmingCharacters(in: .whitespaces)) }
            guard !thresholds.isEmpty, thresholds.allSatisfy({ $0 > 0 }) else { throw ValidationError("milestones must be positive whole numbers separated by commas") }
            guard try Petitions.setMilestones(thresholds, slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug) milestones: \(thresholds.sorted().map(String.init).joined(separator: ", "))")
        }
    }

    struct Open: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Open a petition for signatures.")
        @Argument var slug: String

        func run() throws {
            guard try Petitions.setStatus(.open, slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug) is open")
        }
    }

    struct Close: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Close a petition: intake answers 410 from now on.")
        @Argument var slug: String

        func run() throws {
            guard try Petitions.setStatus(.closed, slug: slug, on: Environment().connect()) else { throw ValidationError("no petition \(slug)") }
            print("petition \(slug) is closed")
        }
    }
}
