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
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: made))
            registry = made
            return made
        }
    }

    /// The registry `/metrics` renders (bootstrapping with defaults if nobody did).
    public static var registry: PrometheusCollectorRegistry { bootstrap() }
}
