import ArgumentParser
import Store

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply pending database migrations (safe to run while services start).")

    func run() throws {
        let connection = try Environment().connect()
        let applied = try Schema.migrator.migrate(on: connection, logger: Environment.logger)
        let version = try Schema.migrator.currentVersion(on: connection)
        print(applied.isEmpty ? "schema is up to date (version \(version))" : "applied \(applied.map(String.init).joined(separator: ", ")); schema version \(version)")
    }
}
