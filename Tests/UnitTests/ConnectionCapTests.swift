import Models
import NIOCore
import NIOEmbedded
import Testing

@testable import ServiceSupport

/// A public server's connections per address (`ConnectionCapHandler`), on embedded channels.
@Suite("Connections per address")
struct ConnectionCapTests {
    static func connect(_ address: String, _ limiter: AddressLimiter, exempt: [IPNetwork] = []) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 8080)).wait()
        channel.remoteAddress = try SocketAddress(ipAddress: address, port: 40_000)  // the peer, as a server sees it
        try channel.pipeline.syncOperations.addHandler(ConnectionCapHandler(limiter: limiter, exempt: exempt))
        return channel
    }

    @Test func theConnectionPastTheCapIsClosedAndAClosedOneGivesItsPlaceBack() throws {
        let limiter = AddressLimiter(perAddress: 2, total: .max)
        let first = try Self.connect("203.0.113.7", limiter), second = try Self.connect("203.0.113.7", limiter)
        let third = try Self.connect("203.0.113.7", limiter)
        #expect(first.isActive && second.isActive)
        #expect(!third.isActive, "the third connection from one address is closed")
        #expect(try Self.connect("198.51.100.1", limiter).isActive, "another address has its own places")
        _ = try first.close().wait()
        #expect(try Self.connect("203.0.113.7", limiter).isActive, "a closed connection's place is given back")
    }

    @Test func anIPv6ClientIsCountedByItsSlash64() throws {
        let limiter = AddressLimiter(perAddress: 1, total: .max)
        #expect(try Self.connect("2001:db8:1:2::a", limiter).isActive)
        #expect(!(try Self.connect("2001:db8:1:2::b", limiter).isActive))
        #expect(try Self.connect("2001:db8:1:3::a", limiter).isActive)
    }

    @Test func exemptNetworksAreNotCounted() throws {
        let limiter = AddressLimiter(perAddress: 1, total: .max)
        let proxies = try IPNetwork.list("10.0.0.0/8")
        let channels = try (0..<5).map { _ in try Self.connect("10.1.2.3", limiter, exempt: proxies) }
        #expect(channels.allSatisfy { $0.isActive })
        #expect(limiter.openStreams == 0)
    }
}
