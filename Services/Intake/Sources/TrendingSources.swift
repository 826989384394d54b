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
