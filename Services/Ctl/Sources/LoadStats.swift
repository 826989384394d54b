import Foundation
import Models
import ServiceSupport
import Synchronization

/// Counters and latencies of a load run, shared by its workers; draws the progress bar.
final class LoadStats: Sendable {
    private struct State {
        var sent = 0
        var acknowledged = 0
        var errors: [String: Int] = [:]
        var latencies = LatencyHistogram()  // one per request or envelope
        var recorded: [String] = []
    }

    let total: Int
    /// What is counted, as the progress bar says it: "acknowledged", "bytes sent".
    let unit: String
    private let state = Mutex(State())
    private let started = ContinuousClock.now

    init(total: Int, unit: String = "acknowledged") {
        self.total = total
        self.unit = unit
    }

    func sent(latency: Duration?, count: Int = 1) {
        state.withLock { state in
            state.sent += count
            if let latency { state.latencies.record(latency) }
        }
    }

    func acknowledged(_ signers: [SignerFactory.Signer]) {
        let lines = signers.map { "\($0.email.trimmingCharacters(in: .whitespaces)),\($0.country)\n" }
        state.withLock { state in
            state.acknowledged += signers.count
            state.recorded += lines
        }
    }

    func acknowledged(count: Int) {
        state.withLock { $0.acknowledged += count }
    }

    func error(_ kind: String) {
        state.withLock { $0.errors[kind, default: 0] += 1 }
    }

    var recorded: [String] { state.withLock { $0.recorded } }

    /// Redraws one line on stderr twice a second until cancelled.
    func showProgress() async {
        while !Task.isCancelled {
            let (acknowledged, errors) = state.withLock { ($0.acknowledged, $0.errors.values.reduce(0, +)) }
            let elapsed = max(0.001, (ContinuousClock.now - started).inSeconds)
            let done = min(1.0, Double(acknowledged) / Double(max(total, 1)))
            let width = 30
            let bar = String(repeating: "█", count: Int(done * Double(width))) + String(repeating: "·", count: width - Int(done * Double(width)))
            let line = String(format: "\r[%@] %3.0f%%  %d/%d %@  %.0f/s  errors %d  %.1fs ", bar, done * 100, acknowledged, total, unit, Double(acknowledged) / elapsed, errors, elapsed)
            FileHandle.standardError.write(Data(line.utf8))
            try? await Task.sleep(for: .milliseconds(500))
        }
    }

    struct Summary {
        var line: String
        var json: [String: Any]
    }

    func summary(elapsed: Duration) -> Summary {
        let snapshot = state.withLock { $0 }
        let seconds = max(0.001, elapsed.inSeconds)
        func percentile(_ p: Double) -> Double {
            Double(snapshot.latencies.percentile(p)) / 1000
        }
        let errors = snapshot.errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        let line = String(
            format: "loadgen: sent=%d acknowledged=%d errors=%@ elapsed=%.2fs acknowledged_per_s=%.0f p50=%.2fms p99=%.2fms p99.9=%.2fms",
            snapshot.sent, snapshot.acknowledged, errors.isEmpty ? "0" : errors, seconds, Double(snapshot.acknowledged) / seconds,
            percentile(0.5), percentile(0.99), percentile(0.999))
        let json: [String: Any] = [
            "sent": snapshot.sent, "acknowledged": snapshot.acknowledged, "errors": snapshot.errors, "seconds": seconds,
            "acknowledged_per_second": Double(snapshot.acknowledged) / seconds,
            "latency_ms": ["p50": percentile(0.5), "p99": percentile(0.99), "p999": percentile(0.999)],
        ]
        return Summary(line: line, json: json)
    }
}
