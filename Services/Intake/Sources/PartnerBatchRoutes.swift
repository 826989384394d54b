import AMQP
import Foundation
import Hummingbird
import Logging
import Messaging
import Models
import Postgres
import ServiceSupport
import Store

/// HTTP batches for partners that cannot speak AMQP (`docs/partners.md`):
/// - `POST /v1/partners/batches` with `Authorization: Bearer <API key>`: CSV (header row), NDJSON or a
///   JSON array, read as it streams in and sent on in envelopes of 500 with publisher confirms. `202`
///   once every envelope is confirmed; `422` naming the first bad rows when some rows are unreadable or
///   invalid (the good rows are taken all the same); `413` over 100,000 rows or 64 MiB.
/// - `GET /v1/partners/batches/{id}`: the receipt, row by row.
struct PartnerBatchRoutes {
    let pool: PostgresPool
    let publisher: AMQPPublisher
    let names: TopologyNames
    let logger: Logger
    let maximumRows: Int
    let maximumBytes: Int

    static let envelopeSize = 500
    /// Envelopes of one upload awaiting their confirm at once.
    static let inFlight = 8
    /// Bad rows named in a 422.
    static let namedProblems = 20

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.post("/v1/partners/batches") { request, context in
            try await upload(request, context: context)
        }
        router.get("/v1/partners/batches/:id") { request, context in
            try await receipt(request, context: context)
        }
        router.middlewares.add(MethodNotAllowedMiddleware(["/v1/partners/batches": [.post], "/v1/partners/batches/:id": [.get]]))
    }

    private func authenticate(_ request: Request) async throws -> Partner {
        let header = request.headers[.authorization] ?? ""
        guard header.lowercased().hasPrefix("bearer "), case let key = header.dropFirst(7).trimmingWhitespace(), !key.isEmpty else {
            throw Problem(.unauthorized, title: "API key required", detail: "send Authorization: Bearer <the partner's API key>")
        }
        guard let partner = try await pool.withConnection({ connection in try Partners.find(apiKey: key, on: connection) }) else {
            throw Problem(.unauthorized, title: "Unknown API key", detail: "the API key is not valid or the partner is disabled")
        }
        return partner
    }

    typealias Format = PartnerBatchReader.Format

    private func upload(_ request: Request, context: some RequestContext) async throws -> Response {
        let partner = try await authenticate(request)
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        let format: Format
        if contentType.hasPrefix("text/csv") {
            format = .csv
        } else if contentType.hasPrefix("application/x-ndjson") || contentType.hasPrefix("application/jsonl") {
            format = .ndjson
        } else if contentType.hasPrefix("application/json") {
            format = .json
        } else {
            throw Problem(.unsupportedMediaType, title: "Unsupported content type", detail: "send text/csv, application/x-ndjson or application/json")
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > maximumBytes {
            throw Problem(.contentTooLarge, title: "Batch too large", detail: "a batch is at most \(maximumBytes >> 20) MiB; split the file")
        }
        let query = request.uri.queryParameters
        let batchID = query["batch_id"].map(String.init) ?? UUID.random().uuidString.lowercased()
        guard (1...128).contains(batchID.utf8.count),
            batchID.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || "._:-".utf8.contains($0) })
        else {
            throw Problem(.badRequest, title: "Invalid batch id", detail: "batch_id must be 1 to 128 letters, digits or . _ : -", field: "batch_id")
        }
        let petition = query["petition"].map(String.init)

        var reader = PartnerBatchReader(format: format)
        var assembler = PartnerEnvelopeAssembler(partner: partner.name, petition: petition, batchID: batchID, size: Self.envelopeSize)
        var sender = EnvelopeSender(publisher: publisher, names: names, partner: partner.name, batchID: batchID)
        var rows = 0
        var bytes = 0
        var problems: [(row: Int, field: String, reason: String)] = []
        var malformed: [(row: Int, reason: String)] = []
        func take(_ items: [PartnerBatchReader.Item]) async throws {
            for item in items {
                switch item {
                case .record(let row, let record):
                    rows += 1
                    guard rows <= maximumRows else {
                        throw Problem(.contentTooLarge, title: "Batch too large", detail: "a batch is at most \(maximumRows) rows; row \(row) and those after it were not taken; split the file")
                    }
                    let signature = record.signature(partner: partner.name, petition: petition, batchKey: batchID, row: row, now: assembler.now)
                    do { _ = try signature.validated() } catch { problems.append((row, error.field, error.reason)) }
                    if let envelope = assembler.add(row: row, record) { try await sender.send(envelope) }
                case .malformed(let row, let reason):
                    rows += 1
                    malformed.append((row, reason))
                    problems.append((row, "row", reason))
                }
            }
        }
        do {
            for try await buffer in request.body {
                bytes += buffer.readableBytes
                guard bytes <= maximumBytes else {
                    throw Problem(.contentTooLarge, title: "Batch too large", detail: "a batch is at most \(maximumBytes >> 20) MiB; split the file")
                }
                try await take(try reader.feed(buffer.readableBytesView))
            }
            try await take(try reader.finish())
            if let last = assembler.close() { try await sender.send(last) }
            try await sender.finish()
        } catch let problem as ValidationProblem {
            try? await sender.finish()
            throw Problem(.badRequest, title: "Malformed batch", detail: problem.description, field: "body")
        } catch let error as AMQPError {
            try? await sender.finish()
            logger.warning("a partner batch could not be handed to the broker", metadata: ["partner": "\(partner.name)", "error": "\(error.code.rawValue)"])
            throw Problem(.serviceUnavailable, title: "Try again shortly", detail: "send the batch again with the same batch_id; nothing is taken twice", retryAfter: 5)
        } catch {
            try? await sender.finish()
            throw error
        }
        try await pool.withConnection { [rows, malformed, sender] connection in
            try Partners.recordBatch(partner: partner.name, batchID: batchID, rows: rows, envelopes: sender.sent, malformed: malformed,
                                     format: format.rawValue, on: connection)
        }
        logger.info("partner batch taken", metadata: [
            "partner": "\(partner.name)", "batch_id": "\(batchID)", "rows": "\(rows)", "bad_rows": "\(problems.count)",
        ])
        var body: [String: Any] = [
            "batch_id": batchID, "rows": rows, "envelopes": sender.sent, "receipt": "/v1/partners/batches/\(batchID)",
        ]
        guard problems.isEmpty else {
            body["type"] = "about:blank"
            body["title"] = "Some rows are not valid"
            body["status"] = 422
            body["detail"] = "\(problems.count) of \(rows) rows are not valid; the others were taken. The receipt lists every row."
            body["invalid_rows"] = problems.prefix(Self.namedProblems).map { ["row": $0.row, "field": $0.field, "reason": $0.reason] }
            return Self.json(body, status: .unprocessableContent, contentType: "application/problem+json")
        }
        return Self.json(body, status: .accepted, contentType: "application/json")
    }

    private func receipt(_ request: Request, context: some RequestContext) async throws -> Response {
        let partner = try await authenticate(request)
        let batchID = context.parameters.get("id") ?? ""
        let (receipt, batch) = try await pool.withConnection { connection in
            (try Partners.receipt(partner: partner.name, batchID: batchID, on: connection),
             try Partners.batch(partner: partner.name, batchID: batchID, on: connection))
        }
        guard receipt != nil || batch != nil else {
            throw Problem(.notFound, title: "No such batch", detail: "no batch \(batchID.prefix(128)) from this partner (yet)", field: "id")
        }
        var rows = (receipt?.rows ?? []) + (batch?.malformed ?? [])
        rows.sort { $0.row < $1.row }
        var full = PartnerReceipt(partner: partner.name, batchID: batchID, rows: rows)
        full.complete = batch.map { rows.count >= $0.rows }
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: full.wireBytes())))
    }

    static func json(_ object: [String: Any], status: HTTPResponse.Status, contentType: String) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: contentType], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Publishes an upload's envelopes with at most `PartnerBatchRoutes.inFlight` awaiting their confirm.
struct EnvelopeSender {
    let publisher: AMQPPublisher
    let names: TopologyNames
    let partner: String
    let batchID: String
    private var pending: [Task<Void, any Error>] = []
    private(set) var sent = 0

    init(publisher: AMQPPublisher, names: TopologyNames, partner: String, batchID: String) {
        self.publisher = publisher
        self.names = names
        self.partner = partner
        self.batchID = batchID
    }

    mutating func send(_ envelope: PartnerEnvelopeAssembler.Assembled) async throws {
        if pending.count >= PartnerBatchRoutes.inFlight { try await pending.removeFirst().value }
        let message = Envelope.fromPartner(envelope.body, partner: partner, batchID: batchID, firstRow: envelope.firstRow, via: .intake, names)
        pending.append(Task { [publisher] in try await publisher.publish(message) })
        sent += 1
    }

    /// Waits for every confirm; throws the first failure.
    mutating func finish() async throws {
        var failure: (any Error)?
        for task in pending {
            do { try await task.value } catch { failure = failure ?? error }
        }
        pending.removeAll()
        if let failure { throw failure }
    }
}
