import Foundation

/// SQL with parameters. Interpolated values become `$n` bind parameters, never text in the statement:
///
///     let rows = try connection.query("SELECT id FROM petitions WHERE slug = \(slug)")
public struct PostgresQuery: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public var sql: String
    public var parameters: [String?]

    public init(unsafeSQL sql: String, parameters: [String?] = []) {
        self.sql = sql
        self.parameters = parameters
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, parameters: stringInterpolation.parameters)
    }

    /// The statement text only: parameters may hold personal data and are never printed.
    public var description: String { sql }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var parameters: [String?] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            parameters.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql.append(literal)
        }

        public mutating func appendInterpolation(_ value: some PostgresBindable) {
            parameters.append(value.postgresText)
            sql.append("$\(parameters.count)")
        }

        /// An optional value: NULL when nil.
        public mutating func appendInterpolation<Value: PostgresBindable>(_ value: Value?) {
            parameters.append(value?.postgresText)
            sql.append("$\(parameters.count)")
        }

        /// A fragment of SQL written in the source (a column list shared by several queries). A
        /// `StaticString` cannot carry input, so this cannot be a way in for it.
        public mutating func appendInterpolation(sql fragment: StaticString) {
            sql.append(fragment.description)
        }

        /// An identifier (database, schema or table name), quoted so that it cannot end the statement.
        public mutating func appendInterpolation(identifier: String) {
            sql.append("\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\"")
        }
    }
}
