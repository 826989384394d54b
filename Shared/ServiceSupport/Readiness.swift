import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// What `/health/ready` checks: named probes (broker connected, database reachable) and whether the
/// process is draining. Not ready means "send no new work here"; live means "do not restart me".
public final class Readiness: Sendable {
    public typealias Probe = @Sendable () async -> Bool

    private let probes: Mutex<[(String, Probe)]> = Mutex([])
    private let draining = Atomic<Bool>(false)

    public init() {}

    public func add(_ name: String, _ probe: @escaping Probe) {
        probes.withLock { $0.append((name, probe)) }
    }

    /// Marks the process as shutting down: readiness fails from now on.
    public func startDraining() {
        draining.store(true, ordering: .relaxed)
    }

    public var isDraining: Bool { draining.load(ordering: .relaxed) || Self.processDraining.load(ordering: .relaxed) }

    /// Set when the process has been told to stop (`DrainService`): every readiness of the process fails.
    static let processDraining = Atomic<Bool>(false)

    /// Each probe's answer, and whether all passed and the process is not draining.
    public func check() async -> (ready: Bool, checks: [String: Bool]) {
        var checks: [String: Bool] = [:]
        for (name, probe) in probes.withLock({ $0 }) {
            checks[name] = await probe()
        }
        checks["accepting_work"] = !isDraining
        return (checks.values.allSatisfy { $0 }, checks)
    }
}

extension Router {
    /// `/health/live`, `/health/ready` and `/metrics` (Prometheus text format).
    public func addOperationsRoutes(readiness: Readiness) {
        get("/health/live") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: "{\"live\":true}")))
        }
        get("/health/ready") { _, _ in
            let (ready, checks) = await readiness.check()
            let body = "{\"ready\":\(ready),\"checks\":{" + checks.keys.sorted().map { "\"\($0)\":\(checks[$0]!)" }.joined(separator: ",") + "}}"
            return Response(
                status: ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: Observability.registry.emitToBuffer())))
        }
        middlewares.add(MethodNotAllowedMiddleware(["/health/live": [.get], "/health/ready": [.get], "/metrics": [.get]]))
    }
}

/// Placed after the application in the process's service group, so that graceful shutdown (SIGTERM) reaches
/// it first: readiness fails at once (`accepting_work: false`, and the load balancer takes the instance out)
/// while every port keeps serving for `delay` (`UNDERSIGNED_DRAIN_SECONDS`: traffic already routed here
/// still lands); then the application stops as before.
public struct DrainService: Service {
    let delay: Duration
    let logger: Logger

    public init(delay: Duration, logger: Logger) {
        self.delay = delay
        self.logger = logger
    }

    public func run() async throws {
        try? await gracefulShutdown()
        Readiness.processDraining.store(true, ordering: .relaxed)
        logger.notice("stopping: not ready any more; serving for the drain time", metadata: ["seconds": "\(delay.components.seconds)"])
        try? await Task.sleep(for: delay)
    }
}
