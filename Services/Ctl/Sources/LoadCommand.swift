import AMQP
import ArgumentParser
import AsyncHTTPClient
import Foundation
import Messaging
import Models
import NIOCore
import Synchronization

/// `undersigned loadgen`: drives intake over HTTP (keep-alive connections, closed loop) or the broker
/// directly with envelopes and confirms (the partner path), with a share of duplicates, and prints a
/// progress bar with rates, then accepted/s, errors and latency percentiles.
struct LoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen", abstract: "Send realistic signatures to intake (HTTP) or the broker (envelopes).")

    enum Target: String, ExpressibleByArgument { case http, amqp }

    @Option(help: "http: POST to intake; amqp: publish envelopes to signatures.submitted with confirms.") var target = Target.http
    @Option(help: "Intake's base URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "Petition slug.") var petition = "digital-peace-now"
    @Option(help: "Signatures to send (duplicates included).") var signatures = 10_000
    @Option(help: "Share of sends that repeat an earlier signer, typed differently.") var duplicates = 0.15
    @Option(help: "Concurrent HTTP requests (or envelopes in flight for amqp).") var concurrency = 64
    @Option(help: "Signatures per envelope (amqp).") var envelope = 500
    @Option(help: "Seed of the synthetic signers.") var seed: UInt64 = 1
    @Option(help: "First signer number, so that several generators do not overlap.") var offset = 0
    @Option(help: "Retries of a send refused with 503/429 or a failed publish.") var retries = 20
    @Option(help: "Signatures per second at most (open loop); 0 sends as fast as the system answers.") var rate = 0.0
    @Option(help: "Write each acknowledged signature (email, country) to this file, for checks.") var record: String?
    @Option(help: "Write the summary as JSON to this file.") var summary: String?
    @Flag(help: "No progress bar.") var quiet = false

    func validate() throws {
        guard (0.0..<1.0).contains(duplicates) else { throw ValidationError("--duplicates must be from 0 to below 1") }
        guard signatures > 0, concurrency > 0, (1...Envelope.maximumSignatures).contains(envelope) else {
            throw ValidationError("--signatures and --concurrency must be positive; --envelope 1 to \(Envelope.maximumSignatures)")
        }
    }

    func run() async throws {
        let plan = LoadPlan(count: signatures, duplicates: duplicates, factory: SignerFactory(seed: seed), offset: offset)
        let stats = LoadStats(total: signatures)
        let pacer = Pacer(rate: rate)
        let progress = quiet ? nil : Task { await stats.showProgress() }
        let started = ContinuousClock.now
        switch target {
        case .http: try await runHTTP(plan, stats, pacer)
        case .amqp: try await runAMQP(plan, stats, pacer)
        }
        let elapsed = ContinuousClock.now - started
        progress?.cancel()
        _ = await progress?.result
        let result = stats.summary(elapsed: elapsed)
        if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
        print(result.line)
        if let record { try stats.recorded.joined().write(toFile: record, atomically: true, encoding: .utf8) }
        if let summary { try JSONSerialization.data(withJSONObject: result.json, options: [.sortedKeys]).write(to: URL(fileURLWithPath: summary)) }
    }

    private func runHTTP(_ plan: LoadPlan, _ stats: LoadStats, _ pacer: Pacer) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = concurrency
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        do {
            try await sendHTTP(plan, stats, pacer, client)
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func sendHTTP(_ plan: LoadPlan, _ stats: LoadStats, _ pacer: Pacer, _ client: HTTPClient) async throws {
        let endpoint = "\(url)/v1/petitions/\(petition)/signatures"
        let next = Cursor()
        let retries = retries
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let index = next.take(1)
                        guard index < plan.count else { return }
                        try await pacer.wait(for: index)
                        let signer = plan.signer(at: index)
                        var request = HTTPClientRequest(url: endpoint)
                        request.method = .POST
                        request.headers.add(name: "content-type", value: "application/json")
                        request.body = .bytes(ByteBuffer(bytes: Self.body(signer)))
                        for attempt in 0...retries {
                            let start = ContinuousClock.now
                            do {
                                let response = try await client.execute(request, timeout: .seconds(30))
                                _ = try await response.body.collect(upTo: 64 * 1024)
                                stats.sent(latency: ContinuousClock.now - start)
                                if response.status.code == 202 {
                                    stats.acknowledged([signer])
                                    break
                                }
                                stats.error("http_\(response.status.code)")
                                guard [429, 503].contains(response.status.code), attempt < retries else { break }
                                try await Task.sleep(for: .milliseconds(200 * (attempt + 1)))
                            } catch {
                                stats.sent(latency: nil)
                                stats.error("connection")
                                guard attempt < retries else { break }
                                try await Task.sleep(for: .milliseconds(200 * (attempt + 1)))
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func runAMQP(_ plan: LoadPlan, _ stats: LoadStats, _ pacer: Pacer) async throws {
        let environment = try Environment()
        try CommandFailure.checkBroker(environment.common.amqp(role: "loadgen"))
        let publisher = AMQPPublisher(
            configuration: .init(connection: environment.common.amqp(role: "loadgen"), topology: .undersigned(environment.common.topology),
                                 window: max(concurrency, 1), publishTimeout: .seconds(60)),
            logger: Environment.logger)
        publisher.start()
        let names = environment.common.topology
        let next = Cursor()
        let size = envelope
        let retries = retries
        let petition = petition
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while true {
                        let first = next.take(size)
                        guard first < plan.count else { return }
                        try await pacer.wait(for: first)
                        let signers = (first..<min(first + size, plan.count)).map { plan.signer(at: $0) }
                        let message = Envelope(signatures: signers.map { Self.signature($0, petition: petition) }).message(names, from: .loadgen)
                        for attempt in 0...retries {
                            let start = ContinuousClock.now
                            do {
                                try await publisher.publish(message)
                                stats.sent(latency: ContinuousClock.now - start, count: signers.count)
                                stats.acknowledged(signers)
                                break
                            } catch {
                                stats.sent(latency: nil, count: signers.count)
                                stats.error("amqp_\((error as? AMQPError)?.code.rawValue ?? "error")")
                                guard attempt < retries else { break }
                                try await Task.sleep(for: .milliseconds(500 * (attempt + 1)))
                            }
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        await publisher.stop()
    }

    static func body(_ signer: SignerFactory.Signer) -> [UInt8] {
        let object: [String: Any] = ["name": signer.name, "email": signer.email, "country": signer.country, "source": "web", "contact_opt_in": signer.index % 3 == 0]
        return Array(try! JSONSerialization.data(withJSONObject: object))
    }

    static func signature(_ signer: SignerFactory.Signer, petition: String) -> Signature {
        Signature(submissionID: .random(), petition: petition, name: signer.name, email: signer.email, country: signer.country,
                  contactOptIn: signer.index % 3 == 0, source: "event:loadgen", signedAt: Date())
    }
}

/// Open-loop pacing: position `n` of the plan is not sent before `n / rate` seconds into the run.
struct Pacer: Sendable {
    let rate: Double
    let start = ContinuousClock.now

    func wait(for position: Int) async throws {
        guard rate > 0 else { return }
        let due = start + .milliseconds(Int64(Double(position) / rate * 1000))
        if due > .now { try await Task.sleep(until: due) }
    }
}

/// Hands out positions of the plan to concurrent workers.
final class Cursor: Sendable {
    private let position = Atomic<Int>(0)

    /// The first of `count` positions taken.
    func take(_ count: Int) -> Int {
        position.add(count, ordering: .relaxed).oldValue
    }
}

/// Which signer each send uses: new signers in order, and a share of repeats of earlier ones.
struct LoadPlan: Sendable {
    let count: Int
    private let entries: [(index: Int, variant: Bool)]
    private let factory: SignerFactory

    init(count: Int, duplicates: Double, factory: SignerFactory, offset: Int) {
        self.count = count
        self.factory = factory
        var random = SplitMix(seed: factory.seed ^ 0xD1B5_4A32_D192_ED03)
        var entries: [(Int, Bool)] = []
        entries.reserveCapacity(count)
        var distinct = 0
        for _ in 0..<count {
            if distinct > 0, Double(random.next() % 1_000_000) / 1_000_000 < duplicates {
                entries.append((offset + Int(random.next() % UInt64(distinct)), true))
            } else {
                entries.append((offset + distinct, false))
                distinct += 1
            }
        }
        self.entries = entries
    }

    func signer(at position: Int) -> SignerFactory.Signer {
        let entry = entries[position]
        let signer = factory.signer(entry.index)
        return entry.variant ? factory.variant(of: signer, position) : signer
    }
}
