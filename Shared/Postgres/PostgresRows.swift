import Foundation

/// The rows a statement returned, copied out of libpq (text format), safe to pass between threads.
public struct PostgresRows: Sendable, Sequence {
    public let columns: [String]
    /// Row-major: `values[row * columns.count + column]`.
    let values: [String?]
    /// Rows affected for INSERT/UPDATE/DELETE (`PQcmdTuples`), or the row count of a SELECT.
    public let affectedRows: Int

    public var count: Int { columns.isEmpty ? 0 : values.count / columns.count }
    public var isEmpty: Bool { count == 0 }

    public subscript(row: Int) -> PostgresRow {
        PostgresRow(rows: self, index: row)
    }

    public func makeIterator() -> some IteratorProtocol<PostgresRow> {
        (0..<count).lazy.map { PostgresRow(rows: self, index: $0) }.makeIterator()
    }

    /// The first row, if any.
    public var first: PostgresRow? { isEmpty ? nil : self[0] }
}

/// One row of `PostgresRows`.
public struct PostgresRow: Sendable {
    let rows: PostgresRows
    let index: Int

    /// The raw text of column `column`, or nil for NULL.
    public subscript(column: Int) -> String? {
        rows.values[index * rows.columns.count + column]
    }

    public subscript(name: String) -> String? {
        guard let column = rows.columns.firstIndex(of: name) else { return nil }
        return self[column]
    }

    /// Column `column` decoded as `T`; throws a decoding error naming the column when it is NULL or malformed.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ column: Int) throws(PostgresError) -> T {
        guard let value = try decodeIfPresent(type, column) else {
            throw PostgresError(code: .decoding, message: "column \(rows.columns[column]) is NULL")
        }
        return value
    }

    /// Column `column` decoded as `T`, or nil when it is NULL.
    public func decodeIfPresent<T: PostgresDecodable>(_ type: T.Type = T.self, _ column: Int) throws(PostgresError) -> T? {
        guard let text = self[column] else { return nil }
        guard let value = T(postgresText: text) else {
            throw PostgresError(code: .decoding, message: "column \(rows.columns[column]) is not a \(T.self)")
        }
        return value
    }

    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ name: String) throws(PostgresError) -> T {
        try decode(type, column(named: name))
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ type: T.Type = T.self, _ name: String) throws(PostgresError) -> T? {
        try decodeIfPresent(type, column(named: name))
    }

    private func column(named name: String) throws(PostgresError) -> Int {
        guard let column = rows.columns.firstIndex(of: name) else {
            throw PostgresError(code: .decoding, message: "no column named \(name)")
        }
        return column
    }
}

/// A Swift type that can be read from a column in text format.
public protocol PostgresDecodable {
    init?(postgresText: String)
}

extension String: PostgresDecodable {
    public init?(postgresText: String) { self = postgresText }
}

extension Int: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Int64: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Double: PostgresDecodable {
    public init?(postgresText: String) { self.init(postgresText) }
}

extension Bool: PostgresDecodable {
    public init?(postgresText: String) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: return nil
        }
    }
}

extension UUID: PostgresDecodable {
    public init?(postgresText: String) { self.init(uuidString: postgresText) }
}

extension ByteA: PostgresDecodable {}

extension Date: PostgresDecodable {
    /// Reads `timestamptz` as the server prints it with `DateStyle=ISO` and `TimeZone=UTC`
    /// (set on every connection): `2026-11-29 14:03:07.412345+00`.
    public init?(postgresText: String) {
        var text = postgresText.replacingOccurrences(of: " ", with: "T")
        if text.hasSuffix("+00") { text = String(text.dropLast(3)) + "Z" }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) {
            self = date
        } else if let date = try? Date.ISO8601FormatStyle().parse(text) {
            self = date
        } else {
            return nil
        }
    }
}
