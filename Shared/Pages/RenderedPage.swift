import CompressNIO
import Crypto
import Foundation
import NIOCore
import Synchronization

/// A page rendered once and served many times: its bytes, the same gzip-compressed (for clients and CDNs
/// that take it), a strong `ETag` and a Content-Security-Policy that allows exactly its inline script and
/// style (by hash) and nothing from anywhere else.
public struct RenderedPage: Sendable {
    public let html: ByteBuffer
    public let gzip: ByteBuffer
    public let etag: String
    public let contentSecurityPolicy: String

    public init(html text: String) {
        let html = ByteBuffer(string: text)
        self.html = html
        var input = html
        // Level 9: a page is compressed once and sent thousands of times.
        self.gzip = (try? input.compress(with: .gzip(configuration: .init(compressionLevel: .bestCompression)))) ?? html
        self.etag = "\"" + SHA256.hash(data: Array(text.utf8)).prefix(12).map { String(format: "%02x", $0) }.joined() + "\""
        self.contentSecurityPolicy = Self.policy(for: text)
    }

    /// Scripts and styles by the hash of each inline element; forms post to the page's own origin only.
    public static func policy(for html: String) -> String {
        func hashes(_ tag: String) -> String {
            elements(tag, in: html).map { "'sha256-\(Data(SHA256.hash(data: Array($0.utf8))).base64EncodedString())'" }
                .joined(separator: " ")
        }
        let scripts = hashes("script"), styles = hashes("style")
        return "default-src 'none'; script-src \(scripts.isEmpty ? "'none'" : scripts); style-src \(styles.isEmpty ? "'none'" : styles); "
            + "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    /// The text of each `<tag>…</tag>` in `html` (tags written by us, without attributes).
    static func elements(_ tag: String, in html: String) -> [String] {
        var found: [String] = []
        var rest = html[...]
        while let start = rest.range(of: "<\(tag)>"), let end = rest.range(of: "</\(tag)>", range: start.upperBound..<rest.endIndex) {
            found.append(String(rest[start.upperBound..<end.lowerBound]))
            rest = rest[end.upperBound...]
        }
        return found
    }

    /// Whether an `Accept-Encoding` header takes gzip (any q other than 0).
    public static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        return header.split(separator: ",").contains { item in
            let parts = item.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard parts.first == "gzip" || parts.first == "*" else { return false }
            return !parts.dropFirst().contains { $0.hasPrefix("q=") && (Double($0.dropFirst(2)) ?? 1) == 0 }
        }
    }
}

/// Rendered pages by a key naming everything they depend on, at most `limit` of them. Past the limit a
/// new page is rendered and served but not kept: links with ever new query strings can neither grow the
/// cache nor push the pages people use out of it.
public final class RenderedPages: Sendable {
    private let pages = Mutex<[String: RenderedPage]>([:])
    private let limit: Int

    public init(limit: Int = 2_048) { self.limit = limit }

    public func page(_ key: String, render: () -> RenderedPage) -> RenderedPage {
        if let page = pages.withLock({ $0[key] }) { return page }
        let page = render()
        pages.withLock { pages in
            if pages.count < limit { pages[key] = page }
        }
        return page
    }
}
