import IOCore

/// One turn of a broker I/O thread (`AMQPPublisher`, `AMQPConsumer`), as its lifecycle says: open the
/// connection (or sleep out the back-off when that fails), or work on it (losing it on an error). Returns
/// false when the thread is to finish.
struct IOTurn {
    let wakeup: Wakeup
    let connection: AMQPConnection?
    /// Opens the connection and reports it to the lifecycle; false when it could not.
    let connect: () -> Bool
    /// Reports a failed connect to the lifecycle: the back-off to sleep.
    let connectFailed: () -> Duration
    /// Forgets the connection and reports it lost to the lifecycle.
    let lose: (AMQPConnection, any Error) -> Void

    func take<Waiter>(_ next: ConnectionLifecycle<Waiter>.Next, work: (AMQPConnection) throws -> Void) -> Bool {
        switch next {
        case .finish:
            return false
        case .connect:
            if !connect() { wakeup.wait(socket: -1, timeout: connectFailed()) }
        case .work, .drain:
            guard let connection else { preconditionFailure("the lifecycle says connected without a connection") }
            do {
                try work(connection)
            } catch {
                lose(connection, error)
            }
        }
        return true
    }
}
