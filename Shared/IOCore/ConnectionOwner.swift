import ServiceLifecycle

/// Something that owns connections on threads of its own (`AMQPPublisher`, `AMQPConsumer`,
/// `PostgresPool`): created idle, started, and stopped with a drain. As a `Service` it runs the way every
/// one of them runs: it starts, serves until graceful shutdown, then drains and stops. Listed in a service
/// group before what uses it, it stops after it.
public protocol ConnectionOwner: Service {
    /// Starts the threads. Idempotent; work handed over before it waits for it.
    func start()
    /// Stops taking work, finishes or fails what it holds (within its drain time), closes its connections and
    /// returns once its threads are done. Idempotent.
    func stop() async
}

extension ConnectionOwner {
    public func run() async throws {
        start()
        try? await gracefulShutdown()  // throws only when cancelled: then stop at once as well
        await stop()
    }
}
