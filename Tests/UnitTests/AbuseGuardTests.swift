@testable import Intake
import Logging
import Models
import NIOCore
import ServiceSupport
import Testing

@Suite("Abuse controls: client address, limits, trending")
struct AbuseGuardTests {
    static func guardian(_ change: (inout AbuseSettings) -> Void) -> AbuseGuard {
        var settings = AbuseSettings()
        change(&settings)
        return AbuseGuard(settings: settings, logger: Logger(label: "test"))
    }

    @Test("the client is the peer, or behind trusted proxies the nearest untrusted forwarded address")
    func clientAddress() throws {
        let guardian = Self.guardian { $0.trustedProxies = try! IPNetwork.list("10.0.0.0/8") }
        let proxy = try SocketAddress(ipAddress: "10.1.2.3", port: 4000), direct = try SocketAddress(ipAddress: "198.51.100.7", port: 4000)
        #expect(guardian.client(peer: direct, forwardedFor: "203.0.113.1")?.description == "198.51.100.7", "only a trusted proxy is believed")
        #expect(guardian.client(peer: proxy, forwardedFor: "6.6.6.6, 203.0.113.1, 10.9.9.9")?.description == "203.0.113.1")
        #expect(guardian.client(peer: proxy, forwardedFor: nil)?.description == "10.1.2.3")
        #expect(guardian.client(peer: proxy, forwardedFor: "not-an-address")?.description == "10.1.2.3")
    }

    @Test("a client over its bucket gets 429 with Retry-After; an allow-listed one never does")
    func limits() throws {
        let guardian = Self.guardian {
            $0.perClient = .init(perSecond: 0.1, burst: 3)
            $0.allowNetworks = try! IPNetwork.list("10.99.0.0/16")
        }
        let client = try #require(IPAddress("203.0.113.9")), festival = try #require(IPAddress("10.99.1.1"))
        for _ in 0..<3 { try guardian.admit(client: client, petition: "p") }
        do {
            try guardian.admit(client: client, petition: "p")
            Issue.record("the fourth signature was let through")
        } catch let problem as Problem {
            #expect(problem.statusCode == 429 && (problem.retryAfter ?? 0) >= 1)
        }
        for _ in 0..<100 { try guardian.admit(client: festival, petition: "p") }
    }

    @Test("a vouched client (a kiosk with its token) skips its own bucket, never the petition's limit")
    func vouched() throws {
        let guardian = Self.guardian {
            $0.perClient = .init(perSecond: 0.1, burst: 3)
            $0.perPetition = .init(perSecond: 0.1, burst: 50)
        }
        let venue = try #require(IPAddress("203.0.113.9"))
        for _ in 0..<3 { try guardian.admit(client: venue, petition: "p") }
        #expect(throws: Problem.self, "unvouched, the address is over its bucket") { try guardian.admit(client: venue, petition: "p") }
        // The petition's bucket: 3 taken above, 46 more by the kiosks, the fiftieth and no more.
        for _ in 0..<47 { try guardian.admit(client: venue, petition: "p", vouched: true) }
        do {
            try guardian.admit(client: venue, petition: "p", vouched: true)
            Issue.record("a kiosk went past the petition's limit")
        } catch let problem as Problem {
            #expect(problem.statusCode == 429 && problem.title.contains("petition"))
        }
    }

    @Test("an IPv6 client is limited by its /64: new addresses from the same network share one bucket")
    func ipv6Networks() throws {
        let guardian = Self.guardian { $0.perClient = .init(perSecond: 0.1, burst: 3) }
        for host in 1...3 { try guardian.admit(client: IPAddress("2001:db8:1:2::\(host)"), petition: "p") }
        #expect(throws: Problem.self) { try guardian.admit(client: IPAddress("2001:db8:1:2:ffff::9"), petition: "p") }
        try guardian.admit(client: IPAddress("2001:db8:1:3::1"), petition: "p")  // another /64
        try guardian.admit(client: IPAddress("198.51.100.7"), petition: "p")
        #expect(try #require(IPAddress("2001:db8:1:2:aaaa:bbbb:cccc:dddd")).limitKey.description == "2001:db8:1:2::")
        #expect(try #require(IPAddress("198.51.100.7")).limitKey.description == "198.51.100.7")
    }

    @Test("trending: a source over the share and the minimum is flagged; window 0 turns it off")
    func trending() throws {
        let on = TrendingSources(settings: { var s = AbuseSettings(); s.trendingWindow = .seconds(60); s.trendingMinimum = 5; s.trendingShare = 0.2; return s }())
        let bot = try #require(IPAddress("203.0.113.50"))
        for i in 0..<20 { on.record(client: i < 10 ? bot : IPAddress("198.51.100.\(i)"), domain: i < 10 ? "farm.example" : "gmail.com", now: 100) }
        let flagged = on.flagged(now: 100)
        #expect(flagged.total == 20)
        #expect(Set(flagged.sources.map { "\($0.kind):\($0.value)" }) == ["client:203.0.113.50", "domain:farm.example"], "big providers are not flagged")
        #expect(on.flagged(now: 100 + 120).total == 0, "the window slides")
        let off = TrendingSources(settings: { var s = AbuseSettings(); s.trendingWindow = .zero; return s }())
        off.record(client: bot, domain: "farm.example", now: 100)
        #expect(off.flagged(now: 100).total == 0)
    }
}
