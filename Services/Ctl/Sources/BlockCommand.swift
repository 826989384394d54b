import ArgumentParser
import Foundation
import Models
import Store

/// `undersigned block`: networks and e-mail domains intake refuses (403), within seconds of the command.
struct BlockCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "block", abstract: "Refuse signatures from a network or an e-mail domain (intake answers 403).",
        subcommands: [IP.self, Domain.self, List.self, Remove.self])

    struct Options: ParsableArguments {
        @Option(help: "Why (shown by `block list`; never personal data).") var reason = ""
        @Option(help: "Lift the block after this many hours (default: until removed).") var hours: Int?
    }

    struct IP: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block an address or a CIDR network, e.g. 203.0.113.0/24.")
        @Argument var network: String
        @OptionGroup var options: Options

        func run() throws {
            try BlockCommand.add(.network, network, options)
        }
    }

    struct Domain: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Block an e-mail domain, e.g. bot-farm.example.")
        @Argument var domain: String
        @OptionGroup var options: Options

        func run() throws {
            try BlockCommand.add(.domain, domain, options)
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The blocks in force.")

        func run() throws {
            for block in try Blocks.active(on: Environment().connect()) {
                let kind = block.kind == .network ? "ip" : "domain"
                print("\(kind)\t\(block.value)\tsince \(Timestamp.format(block.createdAt))\t"
                    + "\(block.expiresAt.map { "until \(Timestamp.format($0))" } ?? "until removed")\t\(block.reason)")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lift a block: remove ip NETWORK, or remove domain DOMAIN.")
        @Argument(help: "ip or domain.") var kind: String
        @Argument var value: String

        func run() throws {
            guard let kind = ["ip": Block.Kind.network, "domain": .domain][kind] else { throw ValidationError("say ip or domain") }
            do {
                guard try Blocks.remove(kind, value, on: Environment().connect()) else { throw ValidationError("no such block") }
            } catch let problem as ValidationProblem {
                throw ValidationError(problem.reason)
            }
            print("unblocked \(value); intake takes it again within seconds")
        }
    }

    static func add(_ kind: Block.Kind, _ value: String, _ options: Options) throws {
        let expires = options.hours.map { Date().addingTimeInterval(Double($0) * 3600) }
        do {
            let stored = try Blocks.add(kind, value, reason: options.reason, expiresAt: expires, on: Environment().connect())
            print("blocked \(stored)\(expires.map { " until \(Timestamp.format($0))" } ?? ""); intake refuses it within seconds")
        } catch let problem as ValidationProblem {
            throw ValidationError(problem.reason)
        }
    }
}
