import AMQP
import ArgumentParser
import AsyncHTTPClient
import Crypto
import Foundation
import Messaging
import Models
import NIOCore
import ServiceSupport
import Synchronization

/// `undersigned push FILE --partner NAME`: a partner's file of signatures (CSV with a header row, or
/// NDJSON) into Undersigned over AMQP, as `docs/partners.md` describes: envelopes with publisher
/// confirms, a progress bar, resumable, and a summary of the receipts.
struct PushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push a partner's CSV or NDJSON file of signatures over AMQP, with confirms and receipts.",
        discussion: """
            Credentials come from the environment: UNDERSIGNED_PARTNER_AMQP_URL (amqp://NAME:PASSWORD@host:port/vhost, \
            as `undersigned partner add` printed it), or UNDERSIGNED_PARTNER_API_KEY with --http. The batch id is derived from the file's content and each envelope's \
            id from its first row, so running push again after an interruption sends only what was not confirmed \
            (FILE.push-state remembers it), and even a resend is counted once.
            """)

    @Argument(help: "CSV (header row: name, email, country, postal_code, contact_opt_in, petition, signed_at, reference) or NDJSON.") var file: String
    @Option(help: "The partner's name (its RabbitMQ login).") var partner: String
    @Option(help: "Petition for rows without a petition column.") var petition: String?
    @Option(help: "Signatures per envelope (at most 1,000).") var envelope = 500
    @Option(help: "Envelopes awaiting their confirm at once.") var concurrency = 8
    @Option(help: "Rows per second at most; 0 sends as fast as the broker confirms.") var rate = 0.0
    @Option(help: "Seconds to wait for the receipts after the last confirm; 0 skips them.") var receiptTimeout = 60
    @Option(help: "The partner's receipt queue (default partner.NAME.receipts).") var receiptQueue: String?
    @Flag(help: "Upload the file as one HTTP batch (POST /v1/partners/batches) instead of AMQP envelopes.") var http = false
    @Option(help: "Intake's base URL, for --http.") var url = "http://127.0.0.1:8080"
    @Flag(help: "No progress bar.") var quiet = false

    func validate() throws {
        do { _ = try PartnerCredentials.validateName(partner) } catch { throw ValidationError("--partner \(error.reason)") }
        guard (1...Envelope.maximumSignatures).contains(envelope) else { throw ValidationError("--envelope must be 1 to \(Envelope.maximumSignatures)") }
        guard concurrency >= 1 else { throw ValidationError("--concurrency must be at least 1") }
    }

    func run() async throws {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        let batchID = "file-" + SHA256.hash(data: bytes).prefix(8).hexString
        if http { return try await upload(bytes, batchID: batchID) }
        let reader = ConfigurationReader()
        let url = reader.string("UNDERSIGNED_PARTNER_AMQP_URL", default: "")
        try reader.finish()
        guard !url.isEmpty else { throw ValidationError("set UNDERSIGNED_PARTNER_AMQP_URL to the AMQP URL `undersigned partner add` printed") }
        let connection = try AMQPConfiguration(url: url, connectionName: "undersigned-push-\(partner)")

        let parsed = try PushFile.read(bytes, name: file)
        let plan = PushPlan(rows: parsed.rows, partner: partner, petition: petition, batchID: batchID, envelopeSize: envelope, now: Date())
        let state = PushState(path: file + ".push-state", batchID: batchID)
        let pending = plan.envelopes.filter { !state.isConfirmed($0.firstRow) }
        let skipped = plan.envelopes.count - pending.count
        print("push: \(parsed.rows.count + parsed.malformed.count) rows in \(file) (batch \(batchID)): \(plan.envelopes.count) envelopes"
              + (skipped > 0 ? ", \(skipped) already confirmed by an earlier run" : "")
              + (parsed.malformed.isEmpty ? "" : ", \(parsed.malformed.count) rows unreadable"))

        try CommandFailure.checkBroker(connection)
        let publisher = AMQPPublisher(
            configuration: .init(connection: connection, topology: Topology(exchanges: [], queues: [], bindings: []),
                                 window: max(concurrency, 1), publishTimeout: .seconds(120)),
            logger: Environment.logger)
        publisher.start()
        let stats = LoadStats(total: pending.reduce(0) { $0 + $1.count })
        let progress = quiet ? nil : Task { await stats.showProgress() }
        let pacer = Pacer(rate: rate)
        let next = Cursor()
        let names = TopologyNames(prefix: "")
        let partner = partner
        let started = ContinuousClock.now
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<concurrency {
                    group.addTask {
                        while true {
                            let index = next.take(1)
                            guard index < pending.count else { return }
                            let envelope = pending[index]
                            try await pacer.wait(for: pending[..<index].reduce(0) { $0 + $1.count })
                            let start = ContinuousClock.now
                            try await publisher.publish(
                                Envelope.fromPartner(envelope.body, partner: partner, batchID: batchID, firstRow: envelope.firstRow, via: .partner, names))
                            stats.sent(latency: ContinuousClock.now - start, count: envelope.count)
                            stats.acknowledged(count: envelope.count)
                            try state.confirmed(envelope.firstRow)
                        }
                    }
                }
                try await group.waitForAll()
            }
        } catch {
            progress?.cancel()
            await publisher.stop()
            throw CommandFailure("push stopped: \(error). Run the same command again to send the rest (confirmed envelopes are not sent twice).")
        }
        progress?.cancel()
        await publisher.stop()
        let elapsed = (ContinuousClock.now - started).inSeconds
        let sent = pending.reduce(0) { $0 + $1.count }
        if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
        print(String(format: "push: confirmed=%d envelopes=%d elapsed=%.2fs rate=%.0f/s", sent, pending.count, elapsed, Double(sent) / max(elapsed, 0.001)))

        guard receiptTimeout > 0 else { return }
        let receipts = await ReceiptCollector.collect(
            connection: connection, queue: receiptQueue ?? TopologyNames().partnerReceiptsQueue(partner), batchID: batchID,
            envelopes: Set(plan.envelopes.map(\.id)), timeout: .seconds(receiptTimeout))
        PushSummary(rows: receipts.values.flatMap(\.rows), malformed: parsed.malformed,
                    missing: plan.envelopes.count - receipts.count).print(envelopes: plan.envelopes.count)
    }

    /// `--http`: the whole file as one batch, streamed, then the batch's receipt. Sending the same file
    /// again is safe: the batch id comes from its content.
    private func upload(_ bytes: [UInt8], batchID: String) async throws {
        let reader = ConfigurationReader()
        let key = reader.string("UNDERSIGNED_PARTNER_API_KEY", default: "")
        try reader.finish()
        guard !key.isEmpty else { throw ValidationError("set UNDERSIGNED_PARTNER_API_KEY to the API key `undersigned partner add` printed") }
        let contentType = PartnerBatchReader.Format(sniffing: bytes).contentType
        var query = URLComponents()
        query.queryItems = [URLQueryItem(name: "batch_id", value: batchID)] + (petition.map { [URLQueryItem(name: "petition", value: $0)] } ?? [])
        var request = HTTPClientRequest(url: url + "/v1/partners/batches" + (query.string ?? ""))
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        request.headers.add(name: "content-type", value: contentType)
        let stats = LoadStats(total: bytes.count, unit: "bytes sent")
        let chunks = stride(from: 0, to: bytes.count, by: 1 << 18).map { ByteBuffer(bytes: bytes[$0..<min($0 + (1 << 18), bytes.count)]) }
        request.body = .stream(Chunks(chunks: chunks, stats: stats), length: .known(Int64(bytes.count)))
        print("push: \(file) (\(bytes.count) bytes) as HTTP batch \(batchID)")
        let progress = quiet ? nil : Task { await stats.showProgress() }
        let response = try await HTTPClient.shared.execute(request, timeout: .minutes(30))
        let body = try await response.body.collect(upTo: 1 << 20)
        progress?.cancel()
        if !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
        let answer = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
        switch response.status.code {
        case 202: print("push: taken: \(answer["rows"] ?? 0) rows in \(answer["envelopes"] ?? 0) envelopes")
        case 422: print("push: taken, but \((answer["detail"] as? String) ?? "some rows are not valid")")
        default:
            throw CommandFailure("push: \(response.status.code) \((answer["detail"] as? String) ?? String(buffer: body))")
        }
        guard receiptTimeout > 0 else { return }
        var receiptRequest = HTTPClientRequest(url: url + "/v1/partners/batches/" + batchID)
        receiptRequest.headers.add(name: "authorization", value: "Bearer \(key)")
        let deadline = ContinuousClock.now + .seconds(receiptTimeout)
        var receipt: PartnerReceipt?
        while ContinuousClock.now < deadline {
            let reply = try await HTTPClient.shared.execute(receiptRequest, timeout: .seconds(30))
            let bytes = try await reply.body.collect(upTo: 64 << 20)
            if reply.status.code == 200, case .success(let read) = PartnerReceipt.decode(wire: Array(buffer: bytes)) {
                receipt = read
                if read.complete == true { break }
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        PushSummary(rows: receipt?.rows ?? [], malformed: [], missing: receipt?.complete == true ? 0 : 1).print(envelopes: 1)
    }
}

/// The upload's chunks, counted as the client takes them.
struct Chunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let chunks: [ByteBuffer]
    let stats: LoadStats

    struct AsyncIterator: AsyncIteratorProtocol {
        var index = 0
        let chunks: [ByteBuffer]
        let stats: LoadStats

        mutating func next() async -> ByteBuffer? {
            guard index < chunks.count else { return nil }
            defer { index += 1 }
            stats.acknowledged(count: chunks[index].readableBytes)
            return chunks[index]
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(chunks: chunks, stats: stats) }
}

/// The rows of a partner file, with the rows that could not be read at all: read as intake reads an
/// upload (`PartnerBatchReader`), so `push` and `push --http` take a file the same way.
struct PushFile {
    var rows: [(row: Int, record: PartnerRecord)] = []
    var malformed: [(row: Int, reason: String)] = []

    static func read(_ bytes: [UInt8], name: String) throws -> PushFile {
        var file = PushFile()
        let items: [PartnerBatchReader.Item]
        do { items = try PartnerBatchReader.read(bytes) } catch { throw ValidationError("\(name): \(error.reason)") }
        for item in items {
            switch item {
            case .record(let row, let record): file.rows.append((row, record))
            case .malformed(let row, let reason): file.malformed.append((row, reason))
            }
        }
        return file
    }
}

/// The file's envelopes, all planned before sending (push needs their ids for the receipts).
struct PushPlan {
    var envelopes: [PartnerEnvelopeAssembler.Assembled] = []

    init(rows: [(row: Int, record: PartnerRecord)], partner: String, petition: String?, batchID: String, envelopeSize: Int, now: Date) {
        var assembler = PartnerEnvelopeAssembler(partner: partner, petition: petition, batchID: batchID, size: envelopeSize, now: now)
        for (row, record) in rows {
            if let closed = assembler.add(row: row, record) { envelopes.append(closed) }
        }
        if let last = assembler.close() { envelopes.append(last) }
    }
}

/// Which envelopes of a batch the broker confirmed, kept next to the file (written atomically).
final class PushState: Sendable {
    private let path: String
    private let batchID: String
    private let done: Mutex<Set<Int>>

    init(path: String, batchID: String) {
        self.path = path
        self.batchID = batchID
        var done = Set<Int>()
        if let data = FileManager.default.contents(atPath: path),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], object["batch_id"] as? String == batchID {
            done = Set(object["confirmed_first_rows"] as? [Int] ?? [])
        }
        self.done = Mutex(done)
    }

    func isConfirmed(_ firstRow: Int) -> Bool { done.withLock { $0.contains(firstRow) } }

    func confirmed(_ firstRow: Int) throws {
        let data = try done.withLock { done -> Data in
            done.insert(firstRow)
            return try JSONSerialization.data(withJSONObject: ["batch_id": batchID, "confirmed_first_rows": done.sorted()])
        }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Reads the partner's receipt queue until every envelope of the batch has its receipt or time is up.
enum ReceiptCollector {
    static func collect(connection: AMQPConfiguration, queue: String, batchID: String, envelopes: Set<UUID>, timeout: Duration) async -> [UUID: PartnerReceipt] {
        let consumer = AMQPConsumer(
            configuration: .init(connection: connection, topology: Topology(exchanges: [], queues: [], bindings: []), queue: queue, prefetch: 100),
            logger: Environment.logger)
        consumer.start()
        let found = Mutex<[UUID: PartnerReceipt]>([:])
        let reading = Task {
            for await batch in consumer.batches {
                for delivery in batch.deliveries {
                    // Receipts of other batches are acknowledged too: read them with GET /v1/partners/batches/{id}.
                    guard case .success(let receipt) = PartnerReceipt.decode(wire: delivery.body), receipt.batchID == batchID,
                        let id = receipt.envelopeID, envelopes.contains(id)
                    else { continue }
                    found.withLock { $0[id] = receipt }
                }
                consumer.settle(batch, .ack)
                if found.withLock({ $0.count }) == envelopes.count { break }
            }
        }
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline, found.withLock({ $0.count }) < envelopes.count {
            try? await Task.sleep(for: .milliseconds(200))
        }
        consumer.requestStop()
        await consumer.stop()
        reading.cancel()
        return found.withLock { $0 }
    }
}

struct PushSummary {
    let rows: [PartnerReceipt.Row]
    let malformed: [(row: Int, reason: String)]
    /// Envelopes (or, for an HTTP batch, 1 while it is incomplete) without a receipt yet.
    let missing: Int

    func print(envelopes: Int) {
        let rows = rows.sorted { $0.row < $1.row }
        let count = { (status: PartnerReceipt.Status) in rows.filter { $0.status == status }.count }
        Swift.print("push: receipts=\(envelopes - missing)/\(envelopes) accepted=\(count(.accepted)) duplicate=\(count(.duplicate)) "
                    + "invalid=\(count(.invalid)) unreadable=\(malformed.count)")
        let problems = rows.filter { $0.status == .invalid }.map { (row: $0.row, reason: "\($0.field ?? "row"): \($0.reason ?? "invalid")") }
            + malformed
        for problem in problems.sorted(by: { $0.row < $1.row }).prefix(10) {
            Swift.print("  row \(problem.row): \(problem.reason)")
        }
        if problems.count > 10 { Swift.print("  … and \(problems.count - 10) more") }
        if missing > 0 {
            Swift.print("  \(missing) without a receipt yet (receipts of an earlier run were read then);"
                        + " the batch's receipt: GET /v1/partners/batches/{batch id}")
        }
    }
}

/// A command that failed at run time (not a usage mistake): printed without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    /// Connects and logs in once, so that a wrong URL or password fails at once with a clear message
    /// instead of a publisher retrying until its timeout.
    static func checkBroker(_ configuration: AMQPConfiguration) throws {
        do {
            _ = try AMQPAdmin(configuration: configuration)
        } catch {
            throw CommandFailure("cannot use the broker at \(configuration.redacted): \(error.message)")
        }
    }
}
