import Logging

/// A numbered schema change. Applied once, in order, each in its own transaction.
public struct Migration: Sendable {
    public var version: Int
    public var name: String
    public var sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Applies migrations under a PostgreSQL advisory lock, so that several services starting at once
/// (or `undersigned migrate` during a deploy) never apply the same change twice.
public struct Migrator: Sendable {
    /// The advisory lock key: any constant that no other application on the database uses.
    static let lockKey: Int64 = 0x756E_6465_7273_6967  // "undersig"

    public let migrations: [Migration]

    public init(migrations: [Migration]) {
        precondition(
            migrations.map(\.version) == migrations.map(\.version).sorted()
                && Set(migrations.map(\.version)).count == migrations.count,
            "migrations must be numbered in increasing order")
        self.migrations = migrations
    }

    /// Applies what is missing; returns the versions applied now (empty when up to date).
    @discardableResult
    public func migrate(on connection: PostgresConnection, logger: Logger) throws -> [Int] {
        try connection.query("SELECT pg_advisory_lock(\(Self.lockKey))")
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))") }
        try connection.execute("""
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let applied = Set(try connection.query("SELECT version FROM schema_migrations").map { try $0.decode(Int.self, 0) })
        var done: [Int] = []
        for migration in migrations where !applied.contains(migration.version) {
            try connection.transaction { connection in
                try connection.execute(migration.sql)
                try connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
            }
            logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
            done.append(migration.version)
        }
        return done
    }

    /// The highest version applied, or 0.
    public func currentVersion(on connection: PostgresConnection) throws -> Int {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL").first?.decode(Bool.self, 0) ?? false
        guard exists else { return 0 }
        return try connection.query("SELECT coalesce(max(version), 0) FROM schema_migrations").first?.decode(Int.self, 0) ?? 0
    }
}
