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

    /// The registry `/metrics` renders (bootstrapping with defaults if nobody did).
    public static var registry: PrometheusCollectorRegistry { bootstrap() }
}
