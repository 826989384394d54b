import Logging
import Metrics
import Prometheus
import Synchronization

/// Process-wide logging and metrics, set up once (services in one test process share them).
public enum Observability {
    private static let state = Mutex<PrometheusCollectorRegistry?>(nil)

    /// Sets up JSON logs at `level` and Prometheus metrics; later calls only return the registry.
    @discardableResult
    public static func bootstrap(level: LogLevelSetting = .info) -> PrometheusCollectorRegistry {
        state.withLock { registry in
            if let registry { return registry }
            let made = PrometheusCollectorRegistry()
            let logLevel = Logger.Level(rawValue: level.rawValue) ?? .info
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: logLevel) }
            var factory = PrometheusMetricsFactory(registry: made)
            factory.nameAndLabelSanitizer = Self.prometheusNames
            factory.valueHistogramBuckets = Self.valueBuckets
            factory.durationHistogramBuckets = Self.durationBuckets
            MetricsSystem.bootstrap(factory)
            registry = made
            return made
        }
    }

    /// Conventional Prometheus names for the HTTP metrics of Hummingbird's `MetricsMiddleware` (which uses
    /// OpenTelemetry-style dotted names), and underscores for any other dot.
    @Sendable static func prometheusNames(_ name: String, _ labels: [(String, String)]) -> (String, [(String, String)]) {
        let names = [
            "hb.requests": "http_requests_total",
            "hb.request.errors": "http_request_errors_total",
            "http.server.request.duration": "http_request_duration_seconds",
            "http.server.active_requests": "http_requests_in_flight",
        ]
        let labelNames = [
            "http.route": "route", "http.request.method": "method", "http.response.status_code": "status", "error.type": "status",
        ]
        func underscored(_ text: String) -> String { text.replacingOccurrences(of: ".", with: "_") }
        return (names[name] ?? underscored(name), labels.map { (labelNames[$0.0] ?? underscored($0.0), $0.1) })
    }

    /// Buckets for histograms whose values the defaults (5 to 10,000) fit badly.
    static let valueBuckets: [String: [Double]] = [
        "undersigned_batch_messages": [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    ]

    /// End-to-end lag reaches minutes in a surge; the default buckets stop at 10 s.
    static let durationBuckets: [String: [Duration]] = [
        "undersigned_end_to_end_lag_seconds": [
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300), .seconds(600),
        ],
    ]

    /// The registry `/metrics` renders (bootstrapping with defaults if nobody did).
    public static var registry: PrometheusCollectorRegistry { bootstrap() }
}
