import CLibPQ
import Foundation

/// One libpq connection. Not thread-safe, like `PGconn` itself: exactly one thread uses it at a time
/// (a `PostgresPool` worker owns it). Statements are prepared once per connection and reused.
public final class PostgresConnection {
    private var handle: OpaquePointer?
    private var prepared: [String: String] = [:]
    private var transactionDepth = 0

    /// Connects to `url` (`postgresql://user:password@host:port/database?...`). Parameters given in the URL
    /// win over the defaults set here (connect_timeout 5 s, TCP keepalives, the application name).
    public init(url: String, applicationName: String = "undersigned") throws(PostgresError) {
        let defaults: [(String, String)] = [
            ("connect_timeout", "5"),
            ("keepalives", "1"),
            ("keepalives_idle", "10"),
            ("keepalives_interval", "5"),
            ("keepalives_count", "3"),
            ("application_name", applicationName),
            // Custom plans for every execution: a generic plan made while the signatures table was
            // empty (the first seconds of a surge) kept scanning it whole once it held millions.
            ("options", "-c TimeZone=UTC -c DateStyle=ISO -c plan_cache_mode=force_custom_plan"),
            ("dbname", url),
        ]
        let keywords = defaults.map { strdup($0.0) } + [nil]
        let values = defaults.map { strdup($0.1) } + [nil]
        defer {
            keywords.forEach { free($0) }
            values.forEach { free($0) }
        }
        let connection = keywords.withUnsafeBufferPointer { k in
            values.withUnsafeBufferPointer { v in
                k.withMemoryRebound(to: UnsafePointer<CChar>?.self) { k in
                    v.withMemoryRebound(to: UnsafePointer<CChar>?.self) { v in
                        PQconnectdbParams(k.baseAddress, v.baseAddress, 1)
                    }
                }
            }
        }
        guard let connection, PQstatus(connection) == CONNECTION_OK else {
            let message = connection.map { Self.lastMessage($0) } ?? "out of memory"
            PQfinish(connection)
            throw PostgresError(code: .connection, message: message)
        }
        // libpq prints notices (e.g. "relation already exists, skipping") to stderr by default.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        handle = connection
    }

    deinit {
        close()
    }

    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    /// False once the connection is closed or libpq found it broken; a pool then replaces it.
    public var isUsable: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The server's process id for this session.
    public var backendPID: Int32 {
        handle.map { PQbackendPID($0) } ?? 0
    }

    /// Runs one statement with bind parameters, as a prepared statement cached per connection.
    @discardableResult
    public func query(_ query: PostgresQuery) throws(PostgresError) -> PostgresRows {
        let handle = try liveHandle()
        for parameter in query.parameters where parameter?.utf8.contains(0) == true {
            throw PostgresError(code: .invalidParameter, message: "a parameter contains a NUL character")
        }
        let name = try statementName(for: query.sql, parameterCount: query.parameters.count, handle: handle)
        let cStrings = query.parameters.map { $0.flatMap { strdup($0) } }
        defer { cStrings.forEach { free($0) } }
        let result = cStrings.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: UnsafePointer<CChar>?.self) { values in
                PQexecPrepared(handle, name, Int32(values.count), values.baseAddress, nil, nil, 0)
            }
        }
        return try consume(result, handle: handle)
    }

    /// Runs one or more statements without parameters (migrations, `BEGIN`, `SET ...`).
    @discardableResult
    public func execute(_ sql: String) throws(PostgresError) -> PostgresRows {
        let handle = try liveHandle()
        return try consume(PQexec(handle, sql), handle: handle)
    }

    /// Runs `COPY (…) TO STDOUT` and hands `chunk` each piece libpq returns (one row at a time), so the
    /// result is never held whole in memory. `COPY` takes no bind parameters: pass values in with
    /// `set_config(name, $1, true)` inside the same transaction and read them with `current_setting(name)`.
    /// When `chunk` throws, the connection is closed (it is mid-COPY) and the error rethrown.
    /// Returns the number of pieces (rows).
    @discardableResult
    public func copyOut(_ sql: String, _ chunk: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        let handle = try liveHandle()
        guard let started = PQexec(handle, sql) else { throw PostgresError(code: .connection, message: Self.lastMessage(handle)) }
        guard PQresultStatus(started) == PGRES_COPY_OUT else {
            try consume(started, handle: handle)
            throw PostgresError(code: .invalidParameter, message: "not a COPY … TO STDOUT statement")
        }
        PQclear(started)
        var rows = 0
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(handle, &buffer, 0)
            if length == -1 { break }
            guard length > 0, let buffer else { throw PostgresError(code: .connection, message: Self.lastMessage(handle)) }
            defer { PQfreemem(buffer) }
            do {
                try chunk(UnsafeRawBufferPointer(start: buffer, count: Int(length)))
            } catch {
                close()
                throw error
            }
            rows += 1
        }
        var failure: PostgresError?
        while let result = PQgetResult(handle) {
            do { try consume(result, handle: handle) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
        return rows
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    /// Nested calls join the outer transaction.
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        if transactionDepth > 0 {
            return try body(self)
        }
        try execute("BEGIN")
        transactionDepth = 1
        defer { transactionDepth = 0 }
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            if isUsable { _ = try? execute("ROLLBACK") }
            throw error
        }
    }

    private func liveHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(code: .connection, message: "the connection is closed or broken")
        }
        return handle
    }

    private func statementName(for sql: String, parameterCount: Int, handle: OpaquePointer) throws(PostgresError) -> String {
        if let name = prepared[sql] { return name }
        // Bound the cache; ad-hoc statements (ops commands) should not grow it forever.
        if prepared.count >= 256 {
            _ = try? execute("DEALLOCATE ALL")
            prepared.removeAll()
        }
        let name = "s\(prepared.count)"
        try consume(PQprepare(handle, name, sql, Int32(parameterCount), nil), handle: handle)
        prepared[sql] = name
        return name
    }

    @discardableResult
    private func consume(_ result: OpaquePointer?, handle: OpaquePointer) throws(PostgresError) -> PostgresRows {
        guard let result else {
            throw PostgresError(code: .connection, message: Self.lastMessage(handle))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.rows(of: result)
        default:
            let sqlState = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            let broken = PQstatus(handle) != CONNECTION_OK
            throw PostgresError(
                code: broken || sqlState == nil ? .connection : .server,
                sqlState: sqlState,
                message: primary ?? Self.lastMessage(handle))
        }
    }

    private static func rows(of result: OpaquePointer) -> PostgresRows {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        var columns = [String]()
        columns.reserveCapacity(columnCount)
        for column in 0..<columnCount {
            columns.append(String(cString: PQfname(result, Int32(column))))
        }
        var values = [String?]()
        values.reserveCapacity(rowCount * columnCount)
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) != 0 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(row), Int32(column))))
                }
            }
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? rowCount
        return PostgresRows(columns: columns, values: values, affectedRows: affected)
    }

    private static func lastMessage(_ handle: OpaquePointer) -> String {
        guard let message = PQerrorMessage(handle) else { return "unknown libpq error" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
