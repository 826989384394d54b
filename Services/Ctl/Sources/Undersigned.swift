import ArgumentParser
import Foundation
import Logging
import Postgres
import ServiceSupport

/// `undersigned`: the ops command line. Reads the same `UNDERSIGNED_*` environment as the services.
public struct Undersigned: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "undersigned",
        abstract: "Operate an Undersigned suite: schema, petitions, status.",
        subcommands: [Migrate.self, BrokerCommand.self, SwitchCommand.self, PetitionCommand.self, PartnerCommand.self, PushCommand.self, WebhooksCommand.self, DeliverCommand.self, DeliveriesCommand.self, BlockCommand.self, DomainsCommand.self, EraseCommand.self, AnonymiseCommand.self, SourcesCommand.self, ContactsCommand.self, Status.self, KioskCommand.self, ReportCommand.self, RecountCommand.self, DeadCommand.self, LoadCommand.self, VerifyCommand.self])

    public init() {}
}

/// Connection settings shared by every subcommand.
struct Environment {
    let common: CommonConfiguration

    init() throws {
        let reader = ConfigurationReader()
        common = CommonConfiguration(service: "ctl", reader: reader)
        try reader.finish()
    }

    func connect() throws -> PostgresConnection {
        try PostgresConnection(url: common.databaseURL, applicationName: "undersigned-ctl")
    }

    /// Warnings and errors only: the commands print what they did themselves.
    static let logger: Logger = {
        var logger = Logger(label: "undersigned.ctl")
        logger.logLevel = .warning
        return logger
    }()
}

extension String {
    /// Padded with spaces to `width` for a table column; a longer value is kept whole, with one space after it.
    func column(_ width: Int) -> String {
        count >= width ? self + " " : padding(toLength: width, withPad: " ", startingAt: 0)
    }
}
