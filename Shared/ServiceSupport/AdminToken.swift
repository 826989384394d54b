import Crypto
import Foundation
import Hummingbird

/// The bearer token that opens admin endpoints (`UNDERSIGNED_ADMIN_TOKEN`). Without one configured the
/// endpoints answer 403: closed unless someone opens them.
public struct AdminToken: Sendable {
    private let digest: [UInt8]?

    public init(_ token: String?) {
        digest = token.flatMap { $0.isEmpty ? nil : Array(SHA256.hash(data: Array($0.utf8))) }
    }

    /// Throws 401 (missing or wrong token) or 403 (no token configured). Compares digests in constant time.
    public func check(_ request: Request) throws {
        guard let digest else {
            throw Problem(.forbidden, title: "Admin API disabled", detail: "set UNDERSIGNED_ADMIN_TOKEN to use admin endpoints")
        }
        let header = request.headers[.authorization] ?? ""
        guard header.lowercased().hasPrefix("bearer ") else {
            throw Problem(.unauthorized, title: "Admin token required", detail: "send Authorization: Bearer <UNDERSIGNED_ADMIN_TOKEN>")
        }
        let offered = Array(SHA256.hash(data: Array(header.dropFirst(7).trimmingCharacters(in: .whitespaces).utf8)))
        guard zip(offered, digest).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
            throw Problem(.unauthorized, title: "Wrong admin token", detail: "the admin token is not valid")
        }
    }
}
