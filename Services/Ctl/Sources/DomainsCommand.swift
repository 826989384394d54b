import ArgumentParser
import Foundation
import Models
import Store

/// `undersigned domains`: how each mail provider treats addresses, as data dedup reads every few seconds.
struct DomainsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "domains", abstract: "The e-mail rules that decide when two addresses are one signer.",
        discussion: """
            A rule applies to signatures deduplicated after it is saved (within seconds); signatures already stored keep
            their signer keys. Unknown domains keep their local part as typed: merging two people is worse than missing a
            duplicate.
            """,
        subcommands: [List.self, Set.self, Remove.self, Check.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The rules in force.")

        func run() throws {
            print("domain            aliases                             drop  tags")
            for provider in try EmailRules.load(on: Environment().connect()).providers {
                print(provider.domain.column(18)
                    + provider.aliases.joined(separator: ",").column(36)
                    + (provider.dropCharacters.isEmpty ? "-" : provider.dropCharacters).column(6)
                    + (provider.tagSeparators.isEmpty ? "-" : provider.tagSeparators.joined(separator: " ")))
            }
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add or replace a provider's rule, e.g. domains set gmail.com --aliases googlemail.com --drop . --tags +")
        @Argument(help: "The provider's canonical domain.") var domain: String
        @Option(help: "Comma-separated domains that deliver to the same mailboxes.") var aliases = ""
        @Option(help: "Characters the provider ignores in the mailbox name, e.g. a dot.") var drop = ""
        @Option(help: "Characters that start a sub-address tag, e.g. + (several as one string: +-).") var tags = ""

        func run() throws {
            let provider = EmailProviderRules.Provider(
                domain: domain, aliases: aliases.split(separator: ",").map(String.init), tagSeparators: tags.map(String.init), dropCharacters: drop)
            do {
                try EmailRules.save(provider, on: Environment().connect())
            } catch let problem as ValidationProblem {
                throw ValidationError(problem.reason)
            }
            print("rule for \(domain.lowercased()) saved; dedup applies it within seconds")
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a provider's rule (its addresses are then taken as typed).")
        @Argument var domain: String

        func run() throws {
            guard try EmailRules.remove(domain: domain, on: Environment().connect()) else { throw ValidationError("no rule for \(domain)") }
            print("rule for \(domain.lowercased()) removed")
        }
    }

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether two addresses are the same signer under the rules in force (prints neither address).")
        @Argument var first: String
        @Argument var second: String

        func run() throws {
            let rules = try EmailRules.load(on: Environment().connect())
            do {
                let same = try CanonicalEmail(first, rules: rules) == CanonicalEmail(second, rules: rules)
                print(same ? "the same signer" : "different signers")
            } catch {
                throw ValidationError("not an address: \(error.reason)")
            }
        }
    }
}
