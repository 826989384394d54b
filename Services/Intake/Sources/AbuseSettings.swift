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

/// The limits of intake's abuse controls (`AbuseGuard`), from the environment.
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
