/// Synchronous broker operations for ops tools and tests: queue depths, purges, deletes, declares.
/// Opens its own connection; use it from one thread (it blocks).
public final class AMQPAdmin {
    private let connection: AMQPConnection

    public init(configuration: AMQPConfiguration) throws(AMQPError) {
        connection = try AMQPConnection(configuration: configuration)
    }

    deinit {
        connection.close()
    }

    public func declare(_ topology: Topology) throws(AMQPError) {
        try connection.declare(topology)
    }

    /// Messages ready (not counting unacknowledged ones) and consumers of `queue`.
    public func queueStatus(_ queue: String) throws(AMQPError) -> (messages: Int, consumers: Int) {
        try connection.messageCount(queue: queue)
    }

    public func purge(_ queue: String) throws(AMQPError) {
        try connection.purge(queue: queue)
    }

    public func deleteQueue(_ queue: String) throws(AMQPError) {
        try connection.deleteQueue(queue)
    }

    public func deleteExchange(_ exchange: String) throws(AMQPError) {
        try connection.deleteExchange(exchange)
    }

    /// Removes every queue and exchange of `topology` (tests clean up their prefixed topology with it).
    public func delete(_ topology: Topology) throws(AMQPError) {
        for queue in topology.queues { try connection.deleteQueue(queue.name) }
        for exchange in topology.exchanges { try connection.deleteExchange(exchange.name) }
    }
}
