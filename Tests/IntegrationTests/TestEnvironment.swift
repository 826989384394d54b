import AMQP
import Foundation
import Logging
import Messaging
import Postgres
import ServiceSupport
import Store

/// The throwaway servers `scripts/test` starts, and per-test isolation on them: a fresh database and a
/// unique exchange/queue prefix for each test, so tests run side by side.
enum TestEnvironment {
    static let amqpURL = ProcessInfo.processInfo.environment["UNDERSIGNED_TEST_AMQP_URL"]
        ?? "amqp://guest:guest@127.0.0.1:5673/%2f"
    static let databaseURL = ProcessInfo.processInfo.environment["UNDERSIGNED_TEST_DATABASE_URL"]
        ?? "postgresql://undersigned@127.0.0.1:5442/postgres"

    static let logger: Logger = {
        Observability.bootstrap(level: .warning)
        return Logger(label: "undersigned.tests")
    }()

    static func amqp(_ name: String = "test", heartbeat: Int = 10) -> AMQPConfiguration {
        var configuration = try! AMQPConfiguration(url: amqpURL, connectionName: name)
        configuration.heartbeat = heartbeat
        return configuration
    }

    static func uniqueName(_ kind: String) -> String {
        "\(kind)_" + UUID().uuidString.prefix(8).lowercased()
    }

    /// A new topology prefix; the caller deletes its queues with `dropTopology`.
    static func topologyNames() -> TopologyNames {
        TopologyNames(prefix: uniqueName("t") + ".")
    }

    static func dropTopology(_ names: TopologyNames) {
        guard let admin = try? AMQPAdmin(configuration: amqp("cleanup")) else { return }
        try? admin.delete(.undersigned(names))
    }

    /// Creates an empty database, migrated when asked, and returns its URL.
    static func makeDatabase(migrated: Bool = true) throws -> String {
        let name = uniqueName("db")
        let admin = try PostgresConnection(url: databaseURL)
        try admin.execute("CREATE DATABASE \(name)")
        let url = databaseURL.replacingOccurrences(of: "/postgres", with: "/\(name)")
        if migrated {
            try Schema.migrator.migrate(on: try PostgresConnection(url: url), logger: logger)
        }
        return url
    }

    static func dropDatabase(_ url: String) {
        guard let name = url.split(separator: "/").last.map(String.init), name.hasPrefix("db_"),
              let admin = try? PostgresConnection(url: databaseURL) else { return }
        _ = try? admin.query("DROP DATABASE IF EXISTS \(identifier: name) WITH (FORCE)")
    }

    static let signerSecret = Array(repeating: UInt8(42), count: 32)

    /// Polls `condition` until it holds or `timeout` passes.
    static func eventually(timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return try await condition()
    }
}

/// What a test that runs the services needs: a fresh migrated database with one petition, a unique
/// topology prefix, and a connection to look at the tables. Dropped afterwards.
struct Sandbox {
    let databaseURL: String
    let names: TopologyNames
    let petition: Petition
    private let current: Current

    /// A connection to the sandbox database, replaced when a fault test restarted the server under it.
    var connection: PostgresConnection {
        get throws {
            // libpq learns that the server went away only when a statement fails: probe first.
            if let connection = current.connection, connection.isUsable, (try? connection.query("SELECT 1")) != nil {
                return connection
            }
            let connection = try PostgresConnection(url: databaseURL)
            current.connection = connection
            return connection
        }
    }

    private final class Current {
        var connection: PostgresConnection?
    }

    static func with<T>(
        petition slug: String = "digital-peace-now", milestones: [Int64] = Petitions.defaultMilestones,
        _ body: (Sandbox) async throws -> T
    ) async throws -> T {
        let databaseURL = try TestEnvironment.makeDatabase()
        let names = TestEnvironment.topologyNames()
        defer {
            TestEnvironment.dropTopology(names)
            TestEnvironment.dropDatabase(databaseURL)
        }
        let current = Current()
        current.connection = try PostgresConnection(url: databaseURL)
        let petition = try Petitions.upsert(slug: slug, title: slug, milestones: milestones, on: current.connection!)
        return try await body(Sandbox(databaseURL: databaseURL, names: names, petition: petition, current: current))
    }

    func start(dedupInstances: Int = 1, tallyInstances: Int = 1) async throws -> RunningSuite {
        try await RunningSuite.start(databaseURL: databaseURL, names: names, dedupInstances: dedupInstances, tallyInstances: tallyInstances)
    }

    func rows(_ query: PostgresQuery) throws -> Int {
        try connection.query(query).first?.decode(Int.self, 0) ?? -1
    }

    func publisher() -> AMQPPublisher {
        let publisher = AMQPPublisher(configuration: .init(connection: TestEnvironment.amqp("test"), topology: .undersigned(names)), logger: TestEnvironment.logger)
        publisher.start()
        return publisher
    }
}

extension RunningSuite {
    /// Signs `petition` over HTTP as a phone would.
    func sign(email: String, country: String, name: String = "Signer", petition: String = "digital-peace-now") async throws -> Reply {
        try await post(port: intakePort, "/v1/petitions/\(petition)/signatures", body: EndToEndTests.body(name: name, email: email, country: country))
    }

    /// The petition's total from tally's count API, or nil.
    func total(_ petition: String = "digital-peace-now") async throws -> Int? {
        try await get(port: tallyPort, "/v1/petitions/\(petition)/count").json["total"] as? Int
    }
}
