import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import Models
import NIOCore
import Postgres
import ServiceLifecycle
import ServiceSupport
import Store
import Synchronization

/// Reads the block list every few seconds into the guard (a failed read keeps the last one).
struct BlockListRefresher: Service {
    let pool: PostgresPool
    let guardian: AbuseGuard
    let logger: Logger

    func run() async throws {
        try await everyUntilGracefulShutdown(guardian.settings.blocksRefresh, logger: logger, failure: "cannot read the block list; keeping the last one") {
            guardian.setBlocks(try await pool.withConnection { connection in try Blocks.active(on: connection) })
        }
    }
}
