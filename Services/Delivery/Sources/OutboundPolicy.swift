import AsyncHTTPClient
import Dispatch
import Foundation
import Models

#if canImport(Glibc)
import Glibc
#endif

/// Where the delivery service may call (packages to targets, receipts to partners): `https` to public
/// addresses, never following a redirect. A partner chooses its receipt URL, so without this it could make
/// the service call into the campaign's own network. `UNDERSIGNED_OUTBOUND_ALLOW_NETWORKS` names networks
/// that may be called all the same, over plain `http` too: an office on the campaign's private network, or
/// loopback for `scripts/up`'s stand-in offices and the tests.
struct OutboundPolicy: Sendable {
    var allowedNetworks: [IPNetwork] = []

    /// Never called unless allowed: loopback, private, shared (CGNAT), link-local, unspecified, multicast,
    /// documentation, benchmarking and reserved ranges.
    static let internalNetworks: [IPNetwork] = [
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24", "192.0.2.0/24",
        "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/3",
        "::/127", "64:ff9b::/96", "100::/64", "2001:db8::/32", "fc00::/7", "fe80::/10", "ff00::/8",
    ].map { IPNetwork($0)! }

    /// A client that never follows redirects (a 3xx is an answer like any other, and refused).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Nil when `url` may be called, else why not (for the delivery record and the operator).
    func refusal(_ url: String) async -> String? {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = parts.host, !host.isEmpty
        else {
            return "\(url.prefix(200)) is not an http(s) URL"
        }
        let addresses = await Self.resolve(host)
        guard !addresses.isEmpty else { return "\(host) does not resolve" }
        let allowed = addresses.allSatisfy { allowedNetworks.containsAddress($0) }
        if !allowed, let address = addresses.first(where: { Self.internalNetworks.containsAddress($0) }) {
            return "\(host) is an internal address (\(address)); set UNDERSIGNED_OUTBOUND_ALLOW_NETWORKS to call it"
        }
        if scheme == "http" && !allowed {
            return "plain http is only for addresses in UNDERSIGNED_OUTBOUND_ALLOW_NETWORKS; use https"
        }
        return nil
    }

    /// The addresses `host` names (an address itself, or what the resolver says), off the cooperative pool.
    static func resolve(_ host: String) async -> [IPAddress] {
        if let address = IPAddress(host) { return [address] }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var hints = addrinfo()
                hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
                var result: UnsafeMutablePointer<addrinfo>?
                guard getaddrinfo(host, nil, &hints, &result) == 0 else { return continuation.resume(returning: []) }
                defer { freeaddrinfo(result) }
                var addresses: [IPAddress] = []
                var cursor = result
                while let entry = cursor {
                    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    if entry.pointee.ai_family == AF_INET {
                        entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { var a = $0.pointee.sin_addr; inet_ntop(AF_INET, &a, &text, socklen_t(text.count)) }
                    } else if entry.pointee.ai_family == AF_INET6 {
                        entry.pointee.ai_addr.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { var a = $0.pointee.sin6_addr; inet_ntop(AF_INET6, &a, &text, socklen_t(text.count)) }
                    }
                    if let address = IPAddress(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)) {
                        addresses.append(address)
                    }
                    cursor = entry.pointee.ai_next
                }
                continuation.resume(returning: addresses)
            }
        }
    }
}
