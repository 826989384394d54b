import AsyncHTTPClient
import Foundation
import IOCore
import Logging
import Models
import NIOCore
import NIOFoundationCompat
import Postgres
import ServiceSupport
import Store

/// How one attempt to hand something over ended, for every transport.
enum DeliveryOutcome: CustomStringConvertible, Sendable {
    /// Taken (the receiver's status: HTTP, or the SMTP reply code; nil for files).
    case delivered(Int?)
    /// Not now: tried again after a back-off (or the receiver's `Retry-After`).
    case retry(status: Int?, error: String, retryAfter: Duration?)
    /// Refused for good: failed at once, until an operator puts it back.
    case refused(status: Int?, error: String)

    var result: String {
        switch self {
        case .delivered: "delivered"
        case .retry: "retry"
        case .refused: "refused"
        }
    }

    var description: String {
        switch self {
        case .delivered(let status): status.map(String.init) ?? "ok"
        case .retry(let status, let error, _), .refused(let status, let error): "\(status.map(String.init) ?? "-") \(error)"
        }
    }
}

/// The loop every outbox worker runs (webhook calls, deliveries, verification mails): claim what is due
/// (`claim` leases it), work on it concurrently, and wait `poll` when nothing was due; a failed claim is
/// logged as `failure` and tried again after the wait. Returns at graceful shutdown.
func workOutbox<Item: Sendable>(
    poll: Duration, logger: Logger, failure: Logger.Message,
    claim: @escaping @Sendable () async throws -> [Item], work: @escaping @Sendable (Item) async -> Void
) async throws {
    try await untilGracefulShutdown {
        while true {
            let due: [Item]
            do {
                due = try await claim()
            } catch {
                logger.warning(failure, metadata: ["error": "\(error)"])
                due = []
            }
            await withTaskGroup(of: Void.self) { group in
                for item in due { group.addTask { await work(item) } }
            }
            if due.isEmpty { try await Task.sleep(for: poll) }
        }
    }
}

extension Outbox {
    /// Records an attempt's outcome: delivered; tried again after `retryAfter` or the back-off; or failed.
    func record(_ outcome: DeliveryOutcome, id: Int64, attempts: Int, backoff: Backoff, on connection: PostgresConnection) throws {
        switch outcome {
        case .delivered(let status):
            try delivered(id, status: status, on: connection)
        case .retry(let status, let error, let retryAfter):
            try attemptFailed(id, status: status, error: error, retryAfter: retryAfter ?? backoff.delay(after: attempts), final: false, on: connection)
        case .refused(let status, let error):
            try attemptFailed(id, status: status, error: error, retryAfter: .zero, final: true, on: connection)
        }
    }
}

/// A signed webhook POST, for partner receipts (a small body from the outbox) and delivery packages (a
/// file of any size, read in pieces twice: once to sign, once to send). Headers: the signature and its
/// timestamp (`WebhookSignature`), `Idempotency-Key`, and what the caller adds. A 2xx is delivered; 408,
/// 429, a 5xx or a network failure is tried again (honouring `Retry-After`); any other status, a redirect
/// included, is refused, and so is a URL `OutboundPolicy` does not allow (before anything is sent).
struct WebhookPoster: Sendable {
    enum Body: Sendable {
        case bytes([UInt8])
        case file(URL)
    }

    var timeout: Duration
    /// Where calls may go (checked before each call); redirects are never followed.
    var policy = OutboundPolicy()

    func post(
        url: String, secret: String, idempotencyKey: String, contentType: String, body: Body, headers extra: [(String, String)] = []
    ) async -> DeliveryOutcome {
        if let refusal = await policy.refusal(url) { return .refused(status: nil, error: refusal) }
        let timestamp = Int64(Date().timeIntervalSince1970)
        var signer = WebhookSignature.Signer(secret: secret, timestamp: timestamp)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        do {
            switch body {
            case .bytes(let bytes):
                signer.update(bytes)
                request.body = .bytes(ByteBuffer(bytes: bytes))
            case .file(let file):
                let size = try FileChunks(url: file).forEach { signer.update($0) }
                request.body = .stream(FileChunks(url: file), length: .known(Int64(size)))
            }
        } catch {
            return .retry(status: nil, error: "cannot read the body: \(error)", retryAfter: nil)
        }
        request.headers.add(name: "content-type", value: contentType)
        request.headers.add(name: "user-agent", value: "undersigned-delivery")
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        request.headers.add(name: WebhookSignature.timestampHeader, value: String(timestamp))
        request.headers.add(name: WebhookSignature.signatureHeader, value: signer.signature())
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        do {
            let response = try await OutboundPolicy.client.execute(request, timeout: .init(timeout))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let status = Int(response.status.code)
            switch status {
            case 200..<300: return .delivered(status)
            case 300..<400:
                // Followed, a redirect would send the signed body wherever the receiver (or whoever answers
                // for it) points, https to http included.
                return .refused(status: status, error: "the receiver answered \(status) (a redirect), which is not followed: give the final URL")
            case 408, 429, 500...599:
                let retryAfter = response.headers.first(name: "retry-after").flatMap(Int64.init).map { Duration.seconds(min($0, 3600)) }
                return .retry(status: status, error: "the receiver answered \(status)", retryAfter: retryAfter)
            default: return .refused(status: status, error: "the receiver refused the call with \(status)")
            }
        } catch {
            return .retry(status: nil, error: "\(error)", retryAfter: nil)
        }
    }
}

/// A file read in pieces of 64 KiB, as an async sequence of buffers (an HTTP request body) or with
/// `forEach` (hashing). Nothing more than one piece is in memory.
struct FileChunks: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    static let pieceSize = 64 * 1024
    let url: URL

    /// Calls `body` with each piece; returns the file's size.
    @discardableResult
    func forEach(_ body: (Data) throws -> Void) throws -> Int {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        var size = 0
        while let piece = try handle.read(upToCount: Self.pieceSize), !piece.isEmpty {
            size += piece.count
            try body(piece)
        }
        return size
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let url: URL
        var handle: FileHandle?
        var finished = false

        mutating func next() async throws -> ByteBuffer? {
            guard !finished else { return nil }
            if handle == nil { handle = try FileHandle(forReadingFrom: url) }
            guard let piece = try handle?.read(upToCount: FileChunks.pieceSize), !piece.isEmpty else {
                finished = true
                try? handle?.close()
                return nil
            }
            return ByteBuffer(data: piece)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(url: url) }
}

extension TimeAmount {
    init(_ duration: Duration) {
        self = .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }
}
