import AMQP
import AsyncHTTPClient
import Dedup
import Delivery
import Foundation
import Intake
import Logging
import Messaging
import Models
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import ServiceSupport
import Synchronization
import Tally

/// All four services running in this process, built by the same builders the executables use, against a
/// fresh database and a unique topology prefix. HTTP ports are picked by the system.
final class RunningSuite: Sendable {
    let databaseURL: String
    let names: TopologyNames
    let intakePort: Int
    let tallyPort: Int
    let opsPorts: [Int]
    private let group: ServiceGroup
    private let task: Task<Void, any Error>
    /// Delivery's spool, removed once the suite stopped.
    private let spool: URL

    private init(
        databaseURL: String, names: TopologyNames, intakePort: Int, tallyPort: Int, opsPorts: [Int], group: ServiceGroup,
        task: Task<Void, any Error>, spool: URL
    ) {
        self.databaseURL = databaseURL
        self.names = names
        self.intakePort = intakePort
        self.tallyPort = tallyPort
        self.opsPorts = opsPorts
        self.group = group
        self.task = task
        self.spool = spool
    }

    /// Starts `dedupInstances` dedup and `tallyInstances` tally instances besides one intake and one delivery.
    static func start(databaseURL: String, names: TopologyNames, dedupInstances: Int = 1, tallyInstances: Int = 1) async throws -> RunningSuite {
        let logger = TestEnvironment.logger
        func common(_ service: String, _ index: Int) -> CommonConfiguration {
            CommonConfiguration(
                amqp: TestEnvironment.amqp("\(service)-\(index)"), databaseURL: databaseURL, databasePoolSize: 2,
                topology: names, logLevel: .warning, migrateOnStart: false, instance: "\(names.prefix)\(service)-\(index)")
        }
        let ports = Ports()
        var services: [any Service] = []
        services.append(IntakeService.build(
            configuration: { var intake = IntakeConfiguration(common: common("intake", 0), host: "127.0.0.1", port: 0); intake.opsPort = 0; return intake }(),
            logger: logger, onServerRunning: { await ports.set("intake", $0) }, onOperationsRunning: { await ports.set("intake-ops", $0) }))
        for index in 0..<dedupInstances {
            var dedup = DedupConfiguration(common: common("dedup", index), keys: try SignerKeyMaker(secret: TestEnvironment.signerSecret), opsPort: 0)
            dedup.partnerRefresh = .milliseconds(200)
            services.append(DedupService.build(
                configuration: dedup,
                logger: logger, onServerRunning: { await ports.set("dedup-\(index)", $0) }))
        }
        for index in 0..<tallyInstances {
            var tally = TallyConfiguration(common: common("tally", index), host: "127.0.0.1", port: 0, shard: index)
            tally.opsPort = 0
            services.append(TallyService.build(
                configuration: tally, logger: logger, onServerRunning: { await ports.set("tally-\(index)", $0) },
                onOperationsRunning: { await ports.set("tally-ops-\(index)", $0) }))
        }
        // A spool of its own: delivery empties its spool of leftovers at start, and suites run side by side.
        let spool = FileManager.default.temporaryDirectory.appendingPathComponent("undersigned-harness-\(UUID().uuidString)")
        services.append(try DeliveryService.build(
            configuration: DeliveryConfiguration(common: common("delivery", 0), opsPort: 0, spool: spool),
            logger: logger, onServerRunning: { await ports.set("delivery", $0) }))
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        let intake = try await ports.wait("intake")
        let tally = try await ports.wait("tally-0")
        // The ops ports: intake's first, then tally's, delivery's and each dedup's.
        var ops: [Int] = [try await ports.wait("intake-ops"), try await ports.wait("tally-ops-0"), try await ports.wait("delivery")]
        for index in 0..<dedupInstances { ops.append(try await ports.wait("dedup-\(index)")) }
        for index in 1..<max(1, tallyInstances) { ops.append(try await ports.wait("tally-ops-\(index)")) }
        let suite = RunningSuite(databaseURL: databaseURL, names: names, intakePort: intake, tallyPort: tally, opsPorts: ops, group: group, task: task, spool: spool)
        // Ready means broker connections up and the database reachable.
        let ready = try await TestEnvironment.eventually(timeout: .seconds(30)) {
            for port in ops where try await suite.get(port: port, "/health/ready").status != 200 { return false }
            return true
        }
        guard ready else {
            await suite.stop()
            throw HarnessError.notReady
        }
        return suite
    }

    enum HarnessError: Error { case notReady, noPort(String) }

    /// Graceful shutdown of every service, as on SIGTERM.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        try? FileManager.default.removeItem(at: spool)
    }

    struct Reply: Sendable {
        var status: Int
        var body: String
        var headers: [String: String]

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:]
        }
    }

    func get(port: Int, _ path: String) async throws -> Reply {
        try await Self.send(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"))
    }

    func post(port: Int, _ path: String, body: String, contentType: String = "application/json", accept: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "content-type", value: contentType)
        if let accept { request.headers.add(name: "accept", value: accept) }
        request.body = .bytes(ByteBuffer(string: body))
        return try await Self.send(request)
    }

    /// Intake's ops port (health, metrics).
    var intakeOpsPort: Int { opsPorts[0] }

    /// The sum of a metric's series on intake's `/metrics` (all services of a test process share one registry).
    func metric(_ name: String) async throws -> Double {
        try await get(port: intakeOpsPort, "/metrics").body.split(separator: "\n")
            .filter { $0.hasPrefix(name + " ") || $0.hasPrefix(name + "{") }
            .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }
            .reduce(0, +)
    }

    func send(method: HTTPMethod, port: Int, _ path: String) async throws -> Reply {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = method
        return try await Self.send(request)
    }

    static func send(_ request: HTTPClientRequest) async throws -> Reply {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        var headers: [String: String] = [:]
        for header in response.headers { headers[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), body: String(buffer: body), headers: headers)
    }
}

/// Ports reported by `onServerRunning`, awaited by name.
actor Ports {
    private var ports: [String: Int] = [:]

    func set(_ name: String, _ port: Int) { ports[name] = port }

    func wait(_ name: String) async throws -> Int {
        for _ in 0..<600 {
            if let port = ports[name] { return port }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw RunningSuite.HarnessError.noPort(name)
    }
}
