import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// The `main` of every service: reads its configuration from the environment, sets up logging and
/// metrics, and runs the service until it is told to stop. A service that cannot start, or stops on an
/// error, ends with one line saying why and an exit status a supervisor can act on (78, EX_CONFIG, for a
/// configuration problem; 1 for anything else, such as its port still held by an instance not yet gone),
/// rather than a crash report.
public enum ServiceMain {
    public static func run<Configuration, App: ApplicationProtocol>(
        _ name: String,
        configuration read: ([String: String]) throws -> Configuration,
        logLevel: (Configuration) -> LogLevelSetting,
        application: (Configuration, Logger) throws -> App
    ) async -> Never {
        let configuration: Configuration
        let drain: Duration
        do {
            configuration = try read(ProcessInfo.processInfo.environment)
            drain = try drainTime(ProcessInfo.processInfo.environment)
        } catch {
            FileHandle.standardError.write(Data("undersigned-\(name): \(error)\n".utf8))
            exit(78)  // EX_CONFIG
        }
        Observability.bootstrap(level: logLevel(configuration))
        let logger = Logger(label: "undersigned.\(name)")
        let app: App
        do {
            app = try application(configuration, logger)  // what it throws is about its settings (a key it cannot use)
        } catch {
            FileHandle.standardError.write(Data("undersigned-\(name): \(error)\n".utf8))
            exit(78)
        }
        do {
            // SIGTERM reaches the drain first (the last service): readiness fails, then the application stops.
            let group = ServiceGroup(configuration: .init(
                services: [app, DrainService(delay: drain, logger: logger)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            try await group.run()
            exit(0)
        } catch {
            logger.critical("stopped on an error", metadata: ["error": "\(error)"])
            exit(1)
        }
    }

    /// `UNDERSIGNED_DRAIN_SECONDS` (0 to 300, default 0): how long a stopping instance keeps serving after it
    /// said it is not ready (Kubernetes: a few seconds, for the endpoints to be updated).
    static func drainTime(_ environment: [String: String]) throws -> Duration {
        guard let text = environment["UNDERSIGNED_DRAIN_SECONDS"], !text.isEmpty else { return .zero }
        guard let seconds = Int(text), (0...300).contains(seconds) else {
            throw ConfigurationError(problems: ["UNDERSIGNED_DRAIN_SECONDS must be a whole number of seconds from 0 to 300, not \(text)"])
        }
        return .seconds(seconds)
    }
}
