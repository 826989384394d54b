/// An error from the PostgreSQL layer: what failed, the server's SQLSTATE when there is one, and whether
/// trying again (on a new connection or in a new transaction) can help.
///
/// `description` holds the server's primary message only, never its DETAIL (which may quote row values).
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Could not connect, or the connection broke.
        case connection
        /// The server rejected a statement.
        case server
        /// A value could not be bound as a parameter (e.g. a string with a NUL character).
        case invalidParameter
        /// A result column could not be read as the requested type.
        case decoding
        /// The pool is closed.
        case closed
        /// Too many callers wait for a connection already (`PostgresPool.Configuration.maximumWaiting`).
        case busy
        /// The caller waited for a connection longer than `PostgresPool.Configuration.queueTimeout`.
        case timedOut
    }

    public var code: Code
    /// Five-character SQLSTATE (`23505` unique violation, `40001` serialization failure, ...), when the server sent one.
    public var sqlState: String?
    public var message: String

    public init(code: Code, sqlState: String? = nil, message: String) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
    }

    /// True when the same work may succeed if tried again: lost connections, serialization failures,
    /// deadlocks, a server that is starting or shutting down.
    public var isRetryable: Bool {
        switch code {
        case .connection, .busy, .timedOut: return true
        case .server:
            guard let state = sqlState else { return false }
            return state.hasPrefix("08") || state == "40001" || state == "40P01" || state.hasPrefix("57P")
                || state == "53300" || state == "55P03"
        case .invalidParameter, .decoding, .closed: return false
        }
    }

    /// True when the statement failed because of the data it was given (SQLSTATE classes 22, data
    /// exception, and 23, integrity constraint violation): the same input will fail again. Other server
    /// errors (syntax, undefined objects, permissions) point at the code or the deployment, not the input.
    public var isDataError: Bool {
        code == .invalidParameter || (code == .server && (sqlState?.hasPrefix("22") == true || sqlState?.hasPrefix("23") == true))
    }

    public var description: String {
        "PostgreSQL \(code.rawValue) error" + (sqlState.map { " [\($0)]" } ?? "") + ": \(message)"
    }
}
