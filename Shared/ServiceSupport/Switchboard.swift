import Logging
import Postgres
import ServiceLifecycle
import Store
import Synchronization

/// What this instance knows of the switches (`Switch`): all on until the database says otherwise.
public final class Switchboard: Sendable {
    private let off: Mutex<Set<Switch>>

    public init(off: Set<Switch> = []) {
        self.off = Mutex(off)
    }

    public func isOn(_ which: Switch) -> Bool {
        !off.withLock { $0.contains(which) }
    }

    func replace(_ switchedOff: Set<Switch>) {
        off.withLock { $0 = switchedOff }
    }
}

/// Reads the switches every `interval` (2 s): a switch reaches every instance within seconds. While the
/// database cannot be read, the last switches read stay.
public struct SwitchWatcher: Service {
    let pool: PostgresPool
    let board: Switchboard
    let interval: Duration
    let logger: Logger

    public init(pool: PostgresPool, board: Switchboard, interval: Duration = .seconds(2), logger: Logger) {
        self.pool = pool
        self.board = board
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        try await everyUntilGracefulShutdown(interval, logger: logger, failure: "cannot read the switches; keeping the last ones") {
            board.replace(try await pool.withConnection { connection in try Switches.off(on: connection) })
        }
    }
}
