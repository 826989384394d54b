import Logging
import ServiceLifecycle

/// Runs a service's endless loop until graceful shutdown cancels it, then returns instead of throwing the
/// `CancellationError`: a service that throws makes its group cancel the others, cutting short the
/// workers' drain.
public func untilGracefulShutdown(_ loop: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown(loop)
    } catch is CancellationError {
        return
    }
}

/// Runs `work` now and then every `interval` until graceful shutdown; a failed round is logged as
/// `failure` (a warning, with the error) and the next round comes as usual. For the services that keep
/// something read from the database current (block list, e-mail rules, schedules).
public func everyUntilGracefulShutdown(
    _ interval: Duration, logger: Logger, failure: Logger.Message, _ work: @escaping @Sendable () async throws -> Void
) async throws {
    try await untilGracefulShutdown {
        while true {
            do {
                try await work()
            } catch {
                logger.warning(failure, metadata: ["error": "\(error)"])
            }
            try await Task.sleep(for: interval)
        }
    }
}
