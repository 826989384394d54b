#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as its bytes (an IPv4-mapped IPv6 address is taken as the IPv4 one).
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(_ text: some StringProtocol) {
        var text = String(text).trimmingWhitespace()
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        let all = withUnsafeBytes(of: &v6) { Array($0) }
        bytes = all[0..<12].elementsEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]) ? Array(all[12...]) : all
    }

    /// What per-address limits count by: an IPv4 address itself, an IPv6 address's /64 (one subscriber's
    /// network: a phone or a home router hands out addresses from its /64 at will).
    public var limitKey: IPAddress {
        bytes.count == 16 ? IPAddress(bytes: Array(bytes[0..<8]) + Array(repeating: 0, count: 8)) : self
    }

    public var description: String {
        var buffer = [CChar](repeating: 0, count: 64)
        var copy = bytes
        let family = bytes.count == 4 ? AF_INET : AF_INET6
        guard inet_ntop(family, &copy, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A network in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`; a bare address is a network of one).
public struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    public let address: IPAddress
    public let prefix: Int

    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", maxSplits: 1)
        guard let first = parts.first, let address = IPAddress(first) else { return nil }
        let bits = address.bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1].trimmingWhitespace()) : bits
        guard let prefix, (0...bits).contains(prefix) else { return nil }
        // Keep only the network's bits, so that equal networks compare equal.
        var masked = address.bytes
        for index in masked.indices {
            let keep = max(0, min(8, prefix - index * 8))
            masked[index] &= keep == 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        self.address = IPAddress(bytes: masked)
        self.prefix = prefix
    }

    public func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var remaining = prefix
        for (mine, theirs) in zip(address.bytes, other.bytes) where remaining > 0 {
            let keep = min(8, remaining)
            let mask: UInt8 = keep == 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
            if mine & mask != theirs & mask { return false }
            remaining -= keep
        }
        return true
    }

    public var description: String { "\(address)/\(prefix)" }

    /// A comma-separated list of networks; throws naming the first that does not parse.
    public static func list(_ text: String) throws(ValidationProblem) -> [IPNetwork] {
        try text.split(separator: ",").map { item throws(ValidationProblem) in
            guard let network = IPNetwork(item.trimmingWhitespace()) else {
                throw ValidationProblem(field: "network", reason: "\(item.trimmingWhitespace()) is not an address or a CIDR network")
            }
            return network
        }
    }
}

extension IPAddress {
    init(bytes: [UInt8]) { self.bytes = bytes }
}

extension [IPNetwork] {
    public func containsAddress(_ address: IPAddress) -> Bool {
        contains { $0.contains(address) }
    }
}

/// A token bucket: `rate` tokens a second up to `burst`. Pure arithmetic over the caller's clock.
public struct TokenBucket: Sendable, Equatable {
    public private(set) var tokens: Double
    public private(set) var updated: Double

    public init(burst: Double, now: Double) {
        tokens = burst
        updated = now
    }

    /// Takes a token if there is one and returns nil; otherwise returns the seconds until there is one.
    public mutating func take(rate: Double, burst: Double, now: Double) -> Double? {
        tokens = min(burst, tokens + max(0, now - updated) * rate)
        updated = now
        if tokens >= 1 {
            tokens -= 1
            return nil
        }
        return (1 - tokens) / rate
    }

    /// Full again by `now` (so it can be forgotten).
    public func isFull(rate: Double, burst: Double, now: Double) -> Bool {
        tokens + max(0, now - updated) * rate >= burst
    }
}
