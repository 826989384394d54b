import Foundation
import IOCore
import Logging
import Metrics
import Models
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store

/// Works through planned deliveries (`deliveries`): claims a due one (a lease, kept alive while it is
/// worked on, so a crashed instance's delivery is taken up by another once the lease runs out), builds its
/// package (or finds it built), hands it to the target's transport and records the outcome: delivered,
/// tried again after a back-off, or failed (given up, or refused) until `undersigned deliveries retry`.
struct DeliveryRunner: Service {
    struct Settings: Sendable {
        var poll: Duration = .seconds(1)
        /// How long a claimed delivery is reserved; renewed every third of it while the work goes on.
        var lease: Duration = .seconds(60)
        var backoff = Backoff(base: .seconds(2))
        /// Deliveries worked on at once by one instance.
        var concurrency = 2
    }

    let pool: PostgresPool
    let builder: PackageBuilder
    let transports: [DeliveryTarget.Transport: any Transport]
    let settings: Settings
    let logger: Logger

    func run() async throws {
        try await workOutbox(poll: settings.poll, logger: logger, failure: "cannot read the planned deliveries") {
            try await pool.withConnection { connection in
                try Outbox.deliveries.claimDue(limit: settings.concurrency, lease: settings.lease, on: connection)
            }
        } work: { id in
            await work(on: id)
        }
    }

    /// Builds and sends one delivery, keeping its lease alive meanwhile.
    func work(on id: Int64) async {
        let keepAlive = Task {
            while !Task.isCancelled {
                try await Task.sleep(for: settings.lease / 3)
                try await pool.withConnection { connection in try Outbox.deliveries.extendLease(id, by: settings.lease, on: connection) }
            }
        }
        defer { keepAlive.cancel() }
        let started = ContinuousClock.now
        let loaded: (DeliveryRecord, DeliveryTarget, Petition)?
        do {
            loaded = try await pool.withConnection { connection in
                guard let delivery = try Deliveries.find(id: id, on: connection), delivery.state == .pending,
                      let target = try Deliveries.target(id: delivery.targetID, on: connection),
                      let petition = try Petitions.find(slug: target.petition, on: connection) else { return nil }
                return (delivery, target, petition)
            }
        } catch {
            logger.warning("cannot read a delivery; it comes round again", metadata: ["delivery": "\(id)", "error": "\(error)"])
            return
        }
        guard let (delivery, target, petition) = loaded else { return }
        let outcome: DeliveryOutcome
        var signatures: Int64 = 0
        var built: URL?
        if !target.active {
            outcome = .refused(status: nil, error: "target \(target.name) was removed")
        } else {
            do {
                let package = try await builder.build(delivery, target: target, petition: petition)
                signatures = package.summary.signatures
                built = package.directory
                outcome = await (transports[target.transport] ?? FilesTransport()).send(package, delivery: delivery, target: target, petition: petition)
            } catch {
                outcome = .retry(status: nil, error: "cannot build the package: \(error)", retryAfter: nil)
            }
        }
        Counter(label: "undersigned_deliveries_total", dimensions: [("transport", target.transport.rawValue), ("result", outcome.result)]).increment()
        // The spool keeps no names once an attempt is over, delivered, refused or to be retried (the next
        // attempt builds the package again from the range, without anyone erased since).
        if let built { try? FileManager.default.removeItem(at: built) }
        if case .delivered = outcome {
            Counter(label: "undersigned_delivered_signatures_total", dimensions: [("transport", target.transport.rawValue)]).increment(by: signatures)
            Timer(label: "undersigned_delivery_duration_seconds", dimensions: [("transport", target.transport.rawValue)], preferredDisplayUnit: .seconds)
                .recordInterval(since: started)
        }
        do {
            try await pool.withConnection { connection in
                try Outbox.deliveries.record(outcome, id: id, attempts: delivery.attempts, backoff: settings.backoff, on: connection)
            }
        } catch {
            logger.warning("cannot record a delivery's outcome; it is made again (same idempotency key)", metadata: [
                "delivery": "\(id)", "error": "\(error)",
            ])
        }
        let metadata: Logger.Metadata = [
            "delivery": "\(id)", "petition": "\(petition.slug)", "target": "\(target.name)", "transport": "\(target.transport.rawValue)",
            "signatures": "\(signatures)", "attempt": "\(delivery.attempts + 1)", "result": "\(outcome)",
        ]
        if case .delivered = outcome { logger.notice("delivered", metadata: metadata) } else { logger.warning("delivery attempt failed", metadata: metadata) }
    }
}

extension Timer {
    /// Records the time since `start` on a continuous clock.
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}

/// Starts scheduled deliveries: once a day (UTC) to targets that ask for `daily` while their petition is
/// open, and once to targets that ask for `close` when it has closed (closed by hand, or past its closing
/// time). The trigger keys (`daily:2026-11-29`, `close`) make every instance's attempt the same delivery.
/// Each round also sets the gauges the alerts read: deliveries pending and failed, and the age of the
/// oldest pending one (the same figures from every instance: they come from the database).
struct DeliveryScheduler: Service {
    let pool: PostgresPool
    let interval: Duration
    let giveUpAfter: Duration
    let logger: Logger

    func run() async throws {
        try await everyUntilGracefulShutdown(interval, logger: logger, failure: "cannot plan scheduled deliveries") { try await tick() }
    }

    func tick(now: Date = Date()) async throws {
        let day = String(Timestamp.format(now).prefix(10))
        try await pool.withConnection { [giveUpAfter, logger] connection in
            for (target, open) in try Deliveries.scheduled(on: connection) {
                let trigger: String
                if open && target.triggers.contains(.daily) {
                    trigger = "daily:\(day)"
                } else if !open && target.triggers.contains(.close) {
                    trigger = "close"
                } else {
                    continue
                }
                if case .created(let delivery) = try Deliveries.plan(target: target, trigger: trigger, giveUpAfter: giveUpAfter, on: connection) {
                    logger.notice("delivery planned", metadata: ["delivery": "\(delivery.id)", "target": "\(target.name)", "trigger": "\(trigger)"])
                }
            }
            let expired = try Verifications.removeExpired(on: connection)
            if expired > 0 { logger.notice("unconfirmed signatures removed after their link ran out", metadata: ["count": "\(expired)"]) }
            let backlog = try Outbox.deliveries.backlog(on: connection)
            Gauge(label: "undersigned_deliveries", dimensions: [("state", "pending")]).record(backlog.pending)
            Gauge(label: "undersigned_deliveries", dimensions: [("state", "failed")]).record(backlog.failed)
            Gauge(label: "undersigned_delivery_oldest_pending_seconds").record(backlog.oldestPendingSeconds)
        }
    }
}
