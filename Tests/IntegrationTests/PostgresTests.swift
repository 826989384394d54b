import Foundation
import Postgres
import Synchronization
import Store
import Testing

@Suite("PostgreSQL layer against a real server")
struct PostgresTests {
    @Test("a 500-row batch insert reports exactly the new rows")
    func batchInsertReportsNewRows() async throws {
        let url = try TestEnvironment.makeDatabase(migrated: false)
        defer { TestEnvironment.dropDatabase(url) }
        let pool = PostgresPool(configuration: .init(url: url, size: 2), logger: TestEnvironment.logger)
        pool.start()
        defer { pool.requestStop() }
        try await pool.query("CREATE TABLE keyed (key bytea PRIMARY KEY, label text NOT NULL)")
        let keys = (0..<500).map { i in ByteA([UInt8(i >> 8), UInt8(i & 0xFF)] + Array(repeating: 0xAB, count: 30)) }
        let existing = Array(keys.enumerated().filter { $0.offset % 2 == 0 }.map(\.element))
        try await pool.query("INSERT INTO keyed SELECT unnest(\(existing)::bytea[]), 'old'")
        let labels = (0..<500).map { "row \($0) — \"quoted\", back\\slash, ünïcödé" }
        let inserted = try await pool.transaction { connection in
            try connection.query("""
                INSERT INTO keyed (key, label)
                SELECT k, l FROM unnest(\(keys)::bytea[], \(labels)::text[]) AS t(k, l) ORDER BY k
                ON CONFLICT (key) DO NOTHING
                RETURNING key, label
                """)
        }
        #expect(inserted.count == 250)
        let returned = Set(try inserted.map { try $0.decode(ByteA.self, 0) })
        let expected = Set(keys.enumerated().filter { $0.offset % 2 == 1 }.map(\.element))
        #expect(returned == expected)
        let storedLabels = Set(try inserted.map { try $0.decode(String.self, 1) })
        #expect(storedLabels == Set(labels.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)))
        let total = try await pool.query("SELECT count(*) FROM keyed").first?.decode(Int.self, 0)
        #expect(total == 500)
    }

    @Test("server errors are typed, with SQLSTATE, and a failed transaction rolls back")
    func typedErrors() async throws {
        let url = try TestEnvironment.makeDatabase(migrated: false)
        defer { TestEnvironment.dropDatabase(url) }
        let pool = PostgresPool(configuration: .init(url: url, size: 1), logger: TestEnvironment.logger)
        pool.start()
        defer { pool.requestStop() }
        try await pool.query("CREATE TABLE t (id int PRIMARY KEY)")
        do {
            try await pool.transaction { connection in
                try connection.query("INSERT INTO t VALUES (\(1))")
                try connection.query("INSERT INTO t VALUES (\(1))")
            }
            Issue.record("a unique violation was not reported")
        } catch let error as PostgresError {
            #expect(error.code == .server)
            #expect(error.sqlState == "23505")
            #expect(!error.isRetryable)
        }
        #expect(try await pool.query("SELECT count(*) FROM t").first?.decode(Int.self, 0) == 0)
        await #expect(throws: PostgresError.self) { try await pool.query("SELEC 1") }
        // The connection is still usable after errors.
        #expect(try await pool.query("SELECT \(41) + 1").first?.decode(Int.self, 0) == 42)
        await #expect(throws: PostgresError.self) { try await pool.query("SELECT \("a\u{0}b")") }
    }

    @Test("the pool lets go of a job (and the batch it captured) as soon as the job ran")
    func poolReleasesFinishedJobs() async throws {
        final class Batch: Sendable {
            static let alive = Mutex(0)
            init() { Self.alive.withLock { $0 += 1 } }
            deinit { Self.alive.withLock { $0 -= 1 } }
        }
        let url = try TestEnvironment.makeDatabase(migrated: false)
        defer { TestEnvironment.dropDatabase(url) }
        let pool = PostgresPool(configuration: .init(url: url, size: 2), logger: TestEnvironment.logger)
        pool.start()
        defer { pool.requestStop() }
        for _ in 0..<300 {
            let batch = Batch()
            _ = try await pool.withConnection { [batch] connection in
                _ = batch
                return try connection.query("SELECT 1").count
            }
        }
        // Each job's closure held its batch; with finished jobs kept in the queue until a compaction at
        // a thousand, dedup kept hundreds of MB of signatures alive.
        // (The last jobs may still be unwinding on their worker threads: allow them a moment.)
        for _ in 0..<100 where Batch.alive.withLock({ $0 }) > 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(Batch.alive.withLock { $0 } == 0)
    }

    @Test("the pool's queue is bounded: one caller too many is refused at once, one that waited past the deadline is not run")
    func boundedQueueWithDeadlines() async throws {
        let url = try TestEnvironment.makeDatabase(migrated: false)
        defer { TestEnvironment.dropDatabase(url) }
        let pool = PostgresPool(
            configuration: .init(url: url, size: 1, maximumWaiting: 2, queueTimeout: .milliseconds(300)), logger: TestEnvironment.logger)
        pool.start()
        defer { pool.requestStop() }
        try await pool.query("CREATE TABLE ran (job int)")
        // The only connection is busy for three seconds (the others are queued only once it is running:
        // tasks do not start in the order they are made).
        let running = RunningFlag()
        let busy = Task {
            try await pool.withConnection { connection in
                running.value.store(true, ordering: .sequentiallyConsistent)
                return try connection.query("SELECT pg_sleep(3)").count
            }
        }
        #expect(try await TestEnvironment.eventually(timeout: .seconds(10)) { running.value.load(ordering: .sequentiallyConsistent) })
        let waiting = (1...2).map { job in Task { try await pool.query("INSERT INTO ran VALUES (\(job))") } }
        #expect(try await TestEnvironment.eventually(timeout: .seconds(5)) { pool.waiting == 2 })
        // A third caller is refused at once, not queued.
        let started = ContinuousClock.now
        do {
            _ = try await pool.query("INSERT INTO ran VALUES (3)")
            Issue.record("a caller beyond maximumWaiting was queued")
        } catch let error as PostgresError {
            #expect(error.code == .busy && error.isRetryable)
        }
        #expect(ContinuousClock.now - started < .milliseconds(500))
        // The two that waited past 300 ms are answered then, while the connection is still busy, and are not
        // run once it is free.
        let queued = ContinuousClock.now
        for task in waiting { _ = await task.result }
        #expect(ContinuousClock.now - queued < .milliseconds(2_000), "answered at the deadline, not when a worker came free")
        for task in waiting {
            do {
                _ = try await task.value
                Issue.record("a job queued past its deadline ran")
            } catch let error as PostgresError {
                #expect(error.code == .timedOut)
            }
        }
        _ = try await busy.value
        #expect(try await pool.query("SELECT count(*) FROM ran").first?.decode(Int.self, 0) == 0)
        #expect(pool.waiting == 0)
    }

    @Test("a broken connection is replaced on the next use")
    func brokenConnectionIsReplaced() async throws {
        let url = try TestEnvironment.makeDatabase(migrated: false)
        defer { TestEnvironment.dropDatabase(url) }
        let pool = PostgresPool(configuration: .init(url: url, size: 1), logger: TestEnvironment.logger)
        pool.start()
        defer { pool.requestStop() }
        let pid = try await pool.withConnection { $0.backendPID }
        let admin = try PostgresConnection(url: url)
        try admin.query("SELECT pg_terminate_backend(\(pid))")
        do {
            try await pool.query("SELECT 1")
        } catch let error as PostgresError {
            #expect(error.isRetryable)  // the first use finds it broken
        }
        let next = try await pool.withConnection { $0.backendPID }
        #expect(next != pid)
        #expect(try await pool.query("SELECT 1").first?.decode(Int.self, 0) == 1)
    }

    @Test("migrations apply once, also when several processes start together")
    func migrationsAreIdempotent() async throws {
        let url = try TestEnvironment.makeDatabase(migrated: false)
        defer { TestEnvironment.dropDatabase(url) }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try Schema.migrator.migrate(on: try PostgresConnection(url: url), logger: TestEnvironment.logger)
                }
            }
            return try await group.reduce(into: [Int]()) { $0 += $1 }
        }
        #expect(applied == Schema.migrator.migrations.map(\.version))
        let connection = try PostgresConnection(url: url)
        #expect(try Schema.migrator.migrate(on: connection, logger: TestEnvironment.logger).isEmpty)
        #expect(try Schema.migrator.currentVersion(on: connection) == Schema.migrator.migrations.last?.version)
    }
}

/// Set by a job once a pool's worker runs it.
private final class RunningFlag: Sendable {
    let value = Atomic<Bool>(false)
}
