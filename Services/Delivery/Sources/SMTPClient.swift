import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// Where e-mail goes: a relay, reached as `smtp://[user:password@]host[:port]` (`UNDERSIGNED_SMTP_URL`).
struct SMTPSettings: Sendable {
    enum Security: String, Sendable {
        /// Plain connection upgraded with STARTTLS before anything else is said; no STARTTLS, no mail.
        case starttls
        /// No encryption at all (a relay on the same host only).
        case none
    }

    var host: String
    var port: Int
    var username: String?
    var password: String?
    var security: Security = .starttls
    /// Envelope and header sender.
    var from: String
    /// PEM file of the CA that signed the relay's certificate, when it is not in the system's store.
    var caFile: String?
    /// Name given in EHLO.
    var heloName = "undersigned"
    /// Longest silence (nothing read or written) before the attempt is given up.
    var idleTimeout: Duration = .seconds(60)

    init(url: String, security: Security, from: String, caFile: String?) throws {
        guard let components = URLComponents(string: url), components.scheme == "smtp", let host = components.host, !host.isEmpty else {
            throw SMTPError.configuration("UNDERSIGNED_SMTP_URL must look like smtp://user:password@relay.example.org:587")
        }
        self.host = host
        port = components.port ?? 587
        username = components.user.flatMap { $0.removingPercentEncoding ?? $0 }
        password = components.password.flatMap { $0.removingPercentEncoding ?? $0 }
        self.security = security
        self.from = from
        self.caFile = caFile
    }
}

enum SMTPError: Error, CustomStringConvertible {
    case configuration(String)
    /// The relay answered with an error code (4xx: try again later; 5xx: refused).
    case rejected(code: Int, text: String)
    case noStartTLS
    case connectionClosed
    case timedOut
    case malformedReply

    var description: String {
        switch self {
        case .configuration(let text): text
        case .rejected(let code, let text): "\(code) \(text)"
        case .noStartTLS: "the relay does not offer STARTTLS, and UNDERSIGNED_SMTP_SECURITY requires it"
        case .connectionClosed: "the relay closed the connection"
        case .timedOut: "the relay fell silent (idle timeout)"
        case .malformedReply: "the relay's answer is not SMTP"
        }
    }
}

/// A small SMTP client (RFC 5321) over SwiftNIO: EHLO, STARTTLS (RFC 3207) with certificate and host name
/// checks, AUTH PLAIN (RFC 4954) only once encrypted, one message streamed from a file with dot-stuffing.
/// One connection per message; deliveries are few and large.
struct SMTPClient: Sendable {
    let settings: SMTPSettings

    /// Sends the message in `message` (CRLF line ends, headers included). Returns the relay's final code.
    func send(from: String, to recipients: [String], message: URL) async throws -> Int {
        let (stream, continuation) = AsyncThrowingStream<SMTPReply, any Error>.makeStream()
        let idle = TimeAmount(settings.idleTimeout)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        IdleStateHandler(allTimeout: idle), ByteToMessageHandler(SMTPReplyDecoder()), SMTPReplyForwarder(continuation))
                }
            }
            .connect(host: settings.host, port: settings.port).get()
        defer { channel.close(promise: nil) }
        var replies = stream.makeAsyncIterator()

        func expect(_ codes: ClosedRange<Int>) async throws -> SMTPReply {
            guard let reply = try await replies.next() else { throw SMTPError.connectionClosed }
            guard codes.contains(reply.code) else { throw SMTPError.rejected(code: reply.code, text: reply.text) }
            return reply
        }
        func command(_ line: String, expecting codes: ClosedRange<Int>) async throws -> SMTPReply {
            try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n")).get()
            return try await expect(codes)
        }

        _ = try await expect(220...220)
        var capabilities = try await command("EHLO \(settings.heloName)", expecting: 250...250).lines
        if settings.security == .starttls {
            guard capabilities.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) else { throw SMTPError.noStartTLS }
            _ = try await command("STARTTLS", expecting: 220...220)
            var tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = settings.caFile { tls.trustRoots = .file(caFile) }
            let context = try NIOSSLContext(configuration: tls)
            let host = settings.host
            try await channel.eventLoop.submit {
                try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: host), position: .first)
            }.get()
            capabilities = try await command("EHLO \(settings.heloName)", expecting: 250...250).lines
        }
        if let username = settings.username {
            guard settings.security == .starttls else {
                throw SMTPError.configuration("refusing to send the relay's password unencrypted (UNDERSIGNED_SMTP_SECURITY=none)")
            }
            let token = Data(([0] + Array(username.utf8) + [0] + Array((settings.password ?? "").utf8))).base64EncodedString()
            _ = try await command("AUTH PLAIN \(token)", expecting: 235...235)
        }
        _ = try await command("MAIL FROM:<\(from)>", expecting: 250...250)
        for recipient in recipients {
            _ = try await command("RCPT TO:<\(recipient)>", expecting: 250...251)
        }
        _ = try await command("DATA", expecting: 354...354)
        var stuffer = DotStuffer()
        try await writeStuffed(message, channel: channel, stuffer: &stuffer)
        try await channel.writeAndFlush(ByteBuffer(string: stuffer.endsWithLineBreak ? ".\r\n" : "\r\n.\r\n")).get()
        let accepted = try await expect(250...250)
        _ = try? await command("QUIT", expecting: 221...221)
        return accepted.code
    }

    /// Sends `message` to one recipient and says how it went: a 5xx reply refuses it for good, a 4xx
    /// reply or a connection problem is worth another try.
    func deliver(to recipient: String, message: URL) async -> DeliveryOutcome {
        do {
            return .delivered(try await send(from: settings.from, to: [recipient], message: message))
        } catch SMTPError.rejected(let code, let text) where code >= 500 {
            return .refused(status: code, error: "the relay refused the message: \(code) \(text)")
        } catch SMTPError.rejected(let code, let text) {
            return .retry(status: code, error: "the relay deferred the message: \(code) \(text)", retryAfter: nil)
        } catch {
            return .retry(status: nil, error: "\(error)", retryAfter: nil)
        }
    }

    private func writeStuffed(_ file: URL, channel: any Channel, stuffer: inout DotStuffer) async throws {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        while let piece = try handle.read(upToCount: 64 * 1024), !piece.isEmpty {
            try await channel.writeAndFlush(ByteBuffer(bytes: stuffer.stuff(piece))).get()
        }
    }
}

/// Doubles a dot at the start of a line (RFC 5321 §4.5.2), across piece boundaries.
struct DotStuffer {
    private var atLineStart = true
    private(set) var endsWithLineBreak = true

    mutating func stuff(_ piece: Data) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(piece.count + 16)
        for byte in piece {
            if atLineStart && byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            atLineStart = byte == UInt8(ascii: "\n")
        }
        if let last = piece.last { endsWithLineBreak = last == UInt8(ascii: "\n") }
        return out
    }
}

/// One SMTP reply: its code and the text of each line.
struct SMTPReply: Sendable {
    var code: Int
    var lines: [String]
    var text: String { lines.joined(separator: " ") }
}

/// Reads replies: lines `ddd-text` continue, `ddd text` ends one.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply
    private var lines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > 4096 { throw SMTPError.malformedReply }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex + 1
        guard var line = buffer.readString(length: length) else { return .needMoreData }
        line = line.trimmingCharacters(in: .newlines)
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)) else { throw SMTPError.malformedReply }
        lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if bytes.count == 3 || bytes[3] != UInt8(ascii: "-") {
            context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
            lines = []
        }
        return .continue
    }
}

/// Passes replies to the client's stream; ends it when the connection closes, fails or falls silent.
final class SMTPReplyForwarder: ChannelInboundHandler {
    typealias InboundIn = SMTPReply
    private let continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation

    init(_ continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(unwrapInboundIn(data))
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            continuation.finish(throwing: SMTPError.timedOut)
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish(throwing: SMTPError.connectionClosed)
    }
}
