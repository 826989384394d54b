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

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}

/// Intake's abuse controls: token-bucket limits per client address and per petition (allow-listed
/// networks such as a festival's Wi-Fi or kiosks skip the per-client one), blocked networks and e-mail
/// domains, and "trending" sources (one address or domain taking more than a set share of a window's
/// signatures). None of it depends on whether a signer signed before, so none of it tells.
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
