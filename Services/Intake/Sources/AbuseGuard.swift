import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Models
import NIOCore
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store
import Synchronization

/// Intake's abuse controls: token-bucket limits per client address and per petition (allow-listed
/// networks such as a festival's Wi-Fi or kiosks skip the per-client one), blocked networks and e-mail
/// domains, and "trending" sources (one address or domain taking more than a set share of a window's
/// signatures). None of it depends on whether a signer signed before, so none of it tells.
public struct AbuseSettings: Sendable {
    public struct Rate: Sendable, Equatable {
        public var perSecond: Double
        public var burst: Double

        public init(perSecond: Double, burst: Double) {
            self.perSecond = perSecond
            self.burst = max(1, burst)
        }
    }

    /// Signatures one client address may send (nil: no limit).
    public var perClient: Rate?
    /// Signatures one petition takes (nil: no limit): a ceiling that keeps a flood from drowning the rest.
    public var perPetition: Rate?
    /// Networks whose addresses are not limited per client (many honest people behind one address).
    public var allowNetworks: [IPNetwork] = []
    /// Proxies in front of intake: for a request from one of them, the client is the last address in
    /// `X-Forwarded-For` that is not itself a trusted proxy.
    public var trustedProxies: [IPNetwork] = []
    /// Zero turns trending off.
    public var trendingWindow: Duration = .seconds(300)
    /// A source taking more than this share of the window's signatures, and at least `trendingMinimum`
    /// of them, is flagged.
    public var trendingShare = 0.2
    public var trendingMinimum = 200
    /// Big mail providers, whose share is large by nature, are not flagged as domains.
    public var trendingIgnoredDomains: Set<String> = AbuseSettings.bigProviders
    /// How often the block list is read again.
    public var blocksRefresh: Duration = .seconds(5)

    public static let bigProviders: Set<String> = [
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com", "icloud.com", "me.com", "aol.com",
        "gmx.de", "gmx.net", "web.de", "t-online.de", "orange.fr", "free.fr", "laposte.net", "libero.it", "yandex.ru", "mail.ru",
        "qq.com", "163.com", "proton.me", "protonmail.com",
    ]

    /// No limits (the default in code; the environment's defaults do limit, see `IntakeConfiguration`).
    public init() {}
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}

final class AbuseGuard: Sendable {
    let settings: AbuseSettings
    let trending: TrendingSources
    private let clients = Mutex(Buckets<IPAddress>())
    private let petitions = Mutex(Buckets<String>())
    private let blocked = Mutex<(networks: [IPNetwork], domains: Set<String>)>(([], []))
    private let logLimiter = Mutex<[String: (last: Double, count: Int)]>([:])
    private let logger: Logger
    private static let started = ContinuousClock.now

    init(settings: AbuseSettings, logger: Logger) {
        self.settings = settings
        self.logger = logger
        trending = TrendingSources(settings: settings)
    }

    static func now() -> Double { (ContinuousClock.now - started).inSeconds }

    /// The client's address: the peer's, or, behind a trusted proxy, the nearest untrusted address it forwarded.
    func client(peer: SocketAddress?, forwardedFor: String?) -> IPAddress? {
        guard let peer = peer?.ipAddress.flatMap(IPAddress.init) else { return nil }
        guard settings.trustedProxies.containsAddress(peer), let forwardedFor else { return peer }
        for hop in forwardedFor.split(separator: ",").reversed() {
            guard let address = IPAddress(hop) else { return peer }
            if !settings.trustedProxies.containsAddress(address) { return address }
        }
        return peer
    }

    /// Refuses a blocked client (403) or one over a limit (429 with Retry-After). A `vouched` client (a
    /// kiosk with its token) skips the per-client limit, never the block or the petition's limit.
    func admit(client: IPAddress?, petition: String, vouched: Bool = false) throws {
        let now = Self.now()
        if let client {
            if blocked.withLock({ $0.networks.containsAddress(client) }) {
                refuse("blocked", scope: "network")
                throw Problem(.forbidden, title: "Signatures from this network are not taken",
                              detail: "the campaign blocked this network; if that is a mistake, contact the campaign")
            }
            if !vouched, let rate = settings.perClient, !settings.allowNetworks.containsAddress(client),
               let wait = clients.withLock({ $0.take(client.limitKey, rate: rate, now: now) }) {
                refuse("rate_limited", scope: "client")
                throw Problem(.tooManyRequests, title: "Too many signatures from this address",
                              detail: "try again in a few seconds", retryAfter: max(1, Int(wait.rounded(.up))))
            }
        }
        if let rate = settings.perPetition, let wait = petitions.withLock({ $0.take(petition, rate: rate, now: now) }) {
            refuse("rate_limited", scope: "petition")
            throw Problem(.tooManyRequests, title: "This petition is taking too many signatures right now",
                          detail: "try again in a few seconds", retryAfter: max(1, Int(wait.rounded(.up))))
        }
    }

    /// Refuses an address at a blocked domain (403). `email` is never logged.
    func admit(email: String) throws {
        guard let domain = Self.domain(of: email) else { return }
        if blocked.withLock({ $0.domains.contains(domain) }) {
            refuse("blocked", scope: "domain")
            throw Problem(.forbidden, title: "Signatures from this e-mail domain are not taken",
                          detail: "the campaign blocked this e-mail domain; if that is a mistake, contact the campaign", field: "email")
        }
    }

    static func domain(of email: String) -> String? {
        email.lastIndex(of: "@").map { email[email.index(after: $0)...].lowercased() }
    }

    func setBlocks(_ blocks: [Block]) {
        let networks = blocks.filter { $0.kind == .network }.compactMap { IPNetwork($0.value) }
        let domains = Set(blocks.filter { $0.kind == .domain }.map(\.value))
        blocked.withLock { $0 = (networks, domains) }
    }

    /// Counts the refusal; logs at most once per 10 s per kind, with how many, never who.
    private func refuse(_ result: String, scope: String) {
        Counter(label: result == "blocked" ? "undersigned_intake_blocked_total" : "undersigned_intake_rate_limited_total",
                dimensions: [("scope", scope)]).increment()
        let now = Self.now()
        let due: Int? = logLimiter.withLock { state in
            var entry = state["\(result):\(scope)", default: (last: -10, count: 0)]
            entry.count += 1
            defer { state["\(result):\(scope)"] = entry }
            guard now - entry.last >= 10 else { return nil }
            let count = entry.count
            entry = (now, 0)
            return count
        }
        if let due { logger.notice("signatures refused", metadata: ["reason": "\(result)", "scope": "\(scope)", "count": "\(due)"]) }
    }
}

/// Token buckets by key, forgetting full ones when there are many (memory stays bounded under a flood of
/// addresses: a forgotten bucket was full anyway).
struct Buckets<Key: Hashable> {
    private var buckets: [Key: TokenBucket] = [:]

    mutating func take(_ key: Key, rate: AbuseSettings.Rate, now: Double) -> Double? {
        if buckets.count >= 100_000 {
            buckets = buckets.filter { !$0.value.isFull(rate: rate.perSecond, burst: rate.burst, now: now) }
        }
        return buckets[key, default: TokenBucket(burst: rate.burst, now: now)].take(rate: rate.perSecond, burst: rate.burst, now: now)
    }
}

/// Signatures by client address and e-mail domain over a sliding window (buckets of 10 s). A source with
/// more than the set share of the window's signatures is flagged: on `GET /v1/ops/trending` (admin) and in
/// `undersigned_intake_trending_sources{kind}` (how many, not which: addresses stay out of metrics).
final class TrendingSources: Sendable {
    struct Source: Sendable, Equatable {
        var kind: String
        var value: String
        var count: Int
        var share: Double
    }

    private struct Bucket {
        var start: Int
        var total = 0
        var clients: [IPAddress: Int] = [:]
        var domains: [String: Int] = [:]
    }

    static let bucketSeconds = 10
    private let settings: AbuseSettings
    private let buckets = Mutex<[Bucket]>([])

    init(settings: AbuseSettings) {
        self.settings = settings
    }

    private var bucketCount: Int { max(1, Int(settings.trendingWindow.inSeconds) / Self.bucketSeconds) }

    func record(client: IPAddress?, domain: String?, now: Double) {
        guard settings.trendingWindow > .zero else { return }
        let start = Int(now) / Self.bucketSeconds * Self.bucketSeconds
        let rotated = buckets.withLock { buckets -> Bool in
            var rotated = false
            if buckets.last?.start != start {
                buckets.append(Bucket(start: start))
                buckets.removeAll { $0.start <= start - bucketCount * Self.bucketSeconds }
                rotated = true
            }
            var bucket = buckets.removeLast()
            bucket.total += 1
            // Distinct keys per bucket are capped: a flood of new addresses cannot grow memory without end.
            if let client = client?.limitKey, bucket.clients.count < 50_000 || bucket.clients[client] != nil { bucket.clients[client, default: 0] += 1 }
            if let domain, bucket.domains.count < 50_000 || bucket.domains[domain] != nil { bucket.domains[domain, default: 0] += 1 }
            buckets.append(bucket)
            return rotated
        }
        if rotated {
            let sources = flagged(now: now).sources
            for kind in ["client", "domain"] {
                Gauge(label: "undersigned_intake_trending_sources", dimensions: [("kind", kind)]).record(sources.filter { $0.kind == kind }.count)
            }
        }
    }

    func flagged(now: Double) -> (total: Int, sources: [Source]) {
        let oldest = Int(now) / Self.bucketSeconds * Self.bucketSeconds - (bucketCount - 1) * Self.bucketSeconds
        var total = 0
        var clients: [IPAddress: Int] = [:]
        var domains: [String: Int] = [:]
        // A copy-on-write copy under the lock; the merging (up to a window of 50,000-key buckets) outside it,
        // so signatures being recorded meanwhile never wait for it.
        let snapshot = buckets.withLock { $0 }
        for bucket in snapshot where bucket.start >= oldest {
            total += bucket.total
            clients.merge(bucket.clients, uniquingKeysWith: +)
            domains.merge(bucket.domains, uniquingKeysWith: +)
        }
        guard total > 0 else { return (0, []) }
        func over(_ count: Int) -> Bool { count >= settings.trendingMinimum && Double(count) / Double(total) > settings.trendingShare }
        let sources = clients.filter { over($0.value) }.map { Source(kind: "client", value: "\($0.key)", count: $0.value, share: Double($0.value) / Double(total)) }
            + domains.filter { over($0.value) && !settings.trendingIgnoredDomains.contains($0.key) }
            .map { Source(kind: "domain", value: $0.key, count: $0.value, share: Double($0.value) / Double(total)) }
        return (total, sources.sorted { $0.count > $1.count })
    }
}

/// Reads the block list every few seconds into the guard (a failed read keeps the last one).
struct BlockListRefresher: Service {
    let pool: PostgresPool
    let guardian: AbuseGuard
    let logger: Logger

    func run() async throws {
        try await everyUntilGracefulShutdown(guardian.settings.blocksRefresh, logger: logger, failure: "cannot read the block list; keeping the last one") {
            guardian.setBlocks(try await pool.withConnection { connection in try Blocks.active(on: connection) })
        }
    }
}
