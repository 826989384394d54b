import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The few calls of RabbitMQ's management HTTP API that partner accounts need. The URL carries the
/// administrator's credentials (`UNDERSIGNED_RABBITMQ_MANAGEMENT_URL`, never printed).
struct RabbitManagement {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let base: String
    let authorization: String
    let vhost: String

    init(url: String, vhost: String) throws {
        guard var components = URLComponents(string: url), let host = components.host else {
            throw Failure(description: "UNDERSIGNED_RABBITMQ_MANAGEMENT_URL must be an http://user:password@host:port URL")
        }
        let user = components.percentEncodedUser.flatMap { $0.removingPercentEncoding } ?? "guest"
        let password = components.percentEncodedPassword.flatMap { $0.removingPercentEncoding } ?? "guest"
        authorization = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        components.user = nil
        components.password = nil
        base = "\(components.scheme ?? "http")://\(host):\(components.port ?? 15672)"
        self.vhost = vhost
    }

    /// One path segment, percent-encoded (`/` is `%2F`).
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }

    var vhostSegment: String { Self.segment(vhost) }

    @discardableResult
    func call(_ method: HTTPMethod, _ path: String, _ body: [String: Any]? = nil, allowing allowed: Set<Int> = []) async throws -> (Int, Any?) {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "authorization", value: authorization)
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        } catch {
            throw Failure(description: "RabbitMQ's management API at \(base) is unreachable (\(error)); is the rabbitmq_management plugin on?")
        }
        let bytes = try await response.body.collect(upTo: 16 << 20)
        let status = Int(response.status.code)
        let json = bytes.readableBytes > 0 ? try? JSONSerialization.jsonObject(with: Data(buffer: bytes)) : nil
        guard (200..<300).contains(status) || allowed.contains(status) else {
            let reason = (json as? [String: Any])?["reason"] as? String ?? String(buffer: bytes)
            throw Failure(description: "\(method) \(path): \(status) \(reason)")
        }
        return (status, json)
    }

    /// Closes every connection logged in as `user` (after a rotation or a disable).
    func closeConnections(of user: String) async throws -> Int {
        let (_, json) = try await call(.GET, "/api/connections?columns=name,user")
        let names = (json as? [[String: Any]] ?? []).filter { $0["user"] as? String == user }.compactMap { $0["name"] as? String }
        for name in names {
            try await call(.DELETE, "/api/connections/\(Self.segment(name))", allowing: [404])
        }
        return names.count
    }

    func connectionCounts() async throws -> [String: Int] {
        let (_, json) = try await call(.GET, "/api/connections?columns=user")
        var counts: [String: Int] = [:]
        for connection in json as? [[String: Any]] ?? [] {
            if let user = connection["user"] as? String { counts[user, default: 0] += 1 }
        }
        return counts
    }
}
