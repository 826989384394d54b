import Foundation
import Logging
import Models
import Store

/// Hands a built package to its target.
protocol Transport: Sendable {
    func send(_ package: Package, delivery: DeliveryRecord, target: DeliveryTarget, petition: Petition) async -> DeliveryOutcome
}

/// Appends files to an open file, piece by piece (package parts into a request body or an e-mail).
struct FileWriter {
    let handle: FileHandle

    init(creating url: URL) throws {
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
        }
        handle = try FileHandle(forWritingTo: url)
    }

    func write(_ text: String) throws { try handle.write(contentsOf: Data(text.utf8)) }

    func append(contentsOf file: URL) throws {
        try FileChunks(url: file).forEach { try handle.write(contentsOf: $0) }
    }

    /// The file as base64 in lines of 76 characters, CRLF-terminated (MIME).
    func appendBase64(contentsOf file: URL) throws {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        // A multiple of 57 bytes makes whole 76-character lines.
        while let piece = try handle.read(upToCount: 57 * 1024), !piece.isEmpty {
            try write(piece.base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]) + "\r\n")
        }
    }

    func close() throws {
        try handle.synchronize()
        try handle.close()
    }

    /// Writes `url` through a temporary name and renames it into place, so nobody reads half a file.
    static func atomically(_ url: URL, _ body: (FileWriter) throws -> Void) throws {
        let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: partial) }
        let writer = try FileWriter(creating: partial)
        try body(writer)
        try writer.close()
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: partial, to: url)
    }
}

/// Files: the package's three files in a directory of its own under the target's directory
/// (`<petition>-<target>-delivery-<id>/`), copied under a hidden temporary name and renamed into place, so
/// whoever watches the directory never sees a partial package.
struct FilesTransport: Transport {
    func send(_ package: Package, delivery: DeliveryRecord, target: DeliveryTarget, petition: Petition) async -> DeliveryOutcome {
        let fileManager = FileManager.default
        let root = URL(fileURLWithPath: target.address, isDirectory: true)
        let final = root.appendingPathComponent("\(petition.slug)-\(target.name)-delivery-\(delivery.id)")
        let partial = root.appendingPathComponent(".\(final.lastPathComponent).partial-\(UUID().uuidString.prefix(8))")
        do {
            try fileManager.createDirectory(at: root, withIntermediateDirectories: true)
            if let written = try? DeliveryManifest.decode(Data(contentsOf: final.appendingPathComponent(Package.manifestName))),
               written.csv.sha256 == package.summary.csvSHA256 {
                return .delivered(nil)  // written before a crash, not yet recorded
            }
            defer { try? fileManager.removeItem(at: partial) }
            try fileManager.createDirectory(at: partial, withIntermediateDirectories: false)
            for file in [package.csv, package.manifest, package.coverLetter] {
                let copy = try FileWriter(creating: partial.appendingPathComponent(file.lastPathComponent))
                try copy.append(contentsOf: file)
                try copy.close()
            }
            if fileManager.fileExists(atPath: final.path) { try fileManager.removeItem(at: final) }
            try fileManager.moveItem(at: partial, to: final)
            return .delivered(nil)
        } catch {
            return .retry(status: nil, error: "cannot write to \(target.address): \(error.localizedDescription)", retryAfter: nil)
        }
    }
}

/// Webhook: one signed POST of a `multipart/form-data` body with three parts, `manifest` (JSON),
/// `signatures` (the CSV) and `cover_letter` (HTML); the headers add the delivery's id, the CSV's SHA-256
/// and the signature count. `Idempotency-Key: delivery-<id>` is the same on every attempt.
struct WebhookTransport: Transport {
    let poster: WebhookPoster
    let secret: @Sendable (Int64) async throws -> String?

    func send(_ package: Package, delivery: DeliveryRecord, target: DeliveryTarget, petition: Petition) async -> DeliveryOutcome {
        let secret: String?
        do { secret = try await self.secret(target.id) } catch {
            return .retry(status: nil, error: "cannot read the signing secret: \(error)", retryAfter: nil)
        }
        guard let secret else { return .refused(status: nil, error: "target \(target.name) has no webhook secret") }
        let boundary = "undersigned-\(delivery.id)-\(package.summary.csvSHA256.prefix(16))"
        let body = package.directory.appendingPathComponent("webhook-body")
        do {
            if !FileManager.default.fileExists(atPath: body.path) {
                try FileWriter.atomically(body) { writer in
                    for (name, file, type) in [
                        ("manifest", package.manifest, "application/json"), ("signatures", package.csv, "text/csv; charset=utf-8"),
                        ("cover_letter", package.coverLetter, "text/html; charset=utf-8"),
                    ] {
                        try writer.write("--\(boundary)\r\nContent-Disposition: form-data; name=\"\(name)\"; filename=\"\(file.lastPathComponent)\"\r\n"
                            + "Content-Type: \(type)\r\n\r\n")
                        try writer.append(contentsOf: file)
                        try writer.write("\r\n")
                    }
                    try writer.write("--\(boundary)--\r\n")
                }
            }
        } catch {
            return .retry(status: nil, error: "cannot write the request body: \(error.localizedDescription)", retryAfter: nil)
        }
        return await poster.post(
            url: target.address, secret: secret, idempotencyKey: "delivery-\(delivery.id)",
            contentType: "multipart/form-data; boundary=\(boundary)", body: .file(body),
            headers: [
                ("X-Undersigned-Delivery", String(delivery.id)), ("X-Undersigned-Petition", petition.slug),
                ("X-Undersigned-Signatures", String(package.summary.signatures)), ("X-Undersigned-CSV-SHA256", package.summary.csvSHA256),
            ])
    }
}

/// E-mail: a MIME message to the target's address through the configured relay (`SMTPClient`): the
/// cover letter as the body (HTML, with a plain-text alternative), the CSV and the manifest attached.
/// A package larger than the attachment limit is refused with a reason (use a files or webhook target).
struct EmailTransport: Transport {
    let settings: SMTPSettings?
    let maximumAttachment: Int64

    func send(_ package: Package, delivery: DeliveryRecord, target: DeliveryTarget, petition: Petition) async -> DeliveryOutcome {
        guard let settings else {
            return .retry(status: nil, error: "no SMTP relay is configured (UNDERSIGNED_SMTP_URL)", retryAfter: nil)
        }
        guard package.summary.csvBytes <= maximumAttachment else {
            return .refused(status: nil, error: "the package (\(package.summary.csvBytes) bytes) is over the e-mail attachment limit "
                + "(\(maximumAttachment) bytes, UNDERSIGNED_SMTP_MAX_ATTACHMENT_MIB); deliver it to a files or webhook target")
        }
        let message = package.directory.appendingPathComponent("message.eml")
        do {
            try FileWriter.atomically(message) { writer in
                try MIMEMessage(
                    from: settings.from, to: target.address, subject: subject(package, petition: petition),
                    messageID: "<delivery-\(delivery.id).\(package.summary.csvSHA256.prefix(12))@undersigned>",
                    boundary: "undersigned-\(delivery.id)-\(package.summary.csvSHA256.prefix(16))"
                ).write(to: writer, package: package, plainText: plainText(package, target: target, petition: petition))
            }
        } catch {
            return .retry(status: nil, error: "cannot write the message: \(error.localizedDescription)", retryAfter: nil)
        }
        return await SMTPClient(settings: settings).deliver(to: target.address, message: message)
    }

    private func subject(_ package: Package, petition: Petition) -> String {
        "Petition \u{201C}\(petition.title)\u{201D}: \(package.summary.signatures) signatures"
    }

    private func plainText(_ package: Package, target: DeliveryTarget, petition: Petition) -> String {
        let counts = package.summary.countsByCountry.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            .map { "  \($0.key)  \($0.value)" }.joined(separator: "\r\n")
        return """
            To: \(target.title)\r
            \r
            \(petition.title)\r
            \r
            \(petition.body.replacingOccurrences(of: "\n", with: "\r\n"))\r
            \r
            This delivery carries \(package.summary.signatures) signatures. By country:\r
            \(counts)\r
            \r
            The signatures are attached as \(Package.csvName) (SHA-256 \(package.summary.csvSHA256)), \
            with \(Package.manifestName) describing the delivery.\r

            """
    }
}

/// A multipart/mixed e-mail: text and HTML alternatives, then the package's files as attachments, every
/// part base64 so that no line is too long for SMTP and nothing needs dot-stuffing but the framing.
struct MIMEMessage {
    let from: String
    let to: String
    let subject: String
    let messageID: String
    let boundary: String

    func write(to writer: FileWriter, package: Package, plainText: String) throws {
        let date = Date().formatted(Date.VerbatimFormatStyle(
            format: "\(weekday: .abbreviated), \(day: .twoDigits) \(month: .abbreviated) \(year: .defaultDigits) \(hour: .twoDigits(clock: .twentyFourHour, hourCycle: .zeroBased)):\(minute: .twoDigits):\(second: .twoDigits) +0000",
            locale: Locale(identifier: "en_US_POSIX"), timeZone: TimeZone(identifier: "UTC")!, calendar: Calendar(identifier: .gregorian)))
        try writer.write("""
            From: \(from)\r
            To: \(to)\r
            Subject: \(Self.encodedWord(subject))\r
            Date: \(date)\r
            Message-ID: \(messageID)\r
            MIME-Version: 1.0\r
            Content-Type: multipart/mixed; boundary="\(boundary)"\r
            \r
            --\(boundary)\r
            Content-Type: multipart/alternative; boundary="\(boundary)-alt"\r
            \r
            --\(boundary)-alt\r
            Content-Type: text/plain; charset=utf-8\r
            Content-Transfer-Encoding: base64\r
            \r
            \(Data(plainText.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed]))\r
            --\(boundary)-alt\r
            Content-Type: text/html; charset=utf-8\r
            Content-Transfer-Encoding: base64\r
            \r

            """)
        try writer.appendBase64(contentsOf: package.coverLetter)
        try writer.write("--\(boundary)-alt--\r\n")
        for (file, type) in [(package.csv, "text/csv; charset=utf-8"), (package.manifest, "application/json")] {
            try writer.write("""
                --\(boundary)\r
                Content-Type: \(type); name="\(file.lastPathComponent)"\r
                Content-Disposition: attachment; filename="\(file.lastPathComponent)"\r
                Content-Transfer-Encoding: base64\r
                \r

                """)
            try writer.appendBase64(contentsOf: file)
        }
        try writer.write("--\(boundary)--\r\n")
    }

    /// RFC 2047: a header value with non-ASCII text as `=?UTF-8?B?…?=` words (short enough per line).
    static func encodedWord(_ text: String) -> String {
        guard !text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) else { return text }
        var words: [String] = []
        var current = ""
        for character in text {
            if (current + String(character)).utf8.count > 45 {
                words.append(current)
                current = ""
            }
            current.append(character)
        }
        if !current.isEmpty { words.append(current) }
        return words.map { "=?UTF-8?B?\(Data($0.utf8).base64EncodedString())?=" }.joined(separator: "\r\n ")
    }
}
