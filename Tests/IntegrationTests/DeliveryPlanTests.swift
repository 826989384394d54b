import Foundation
import Postgres
import Store
import Synchronization
import Testing

@Suite("Planning deliveries against a real PostgreSQL")
struct DeliveryPlanTests {
    private func insert(_ count: Int, petition: Int64, from start: Int, on connection: PostgresConnection) throws {
        try connection.query("""
            INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, signed_at)
            SELECT \(petition), sha256((\(String(petition)) || '-' || g)::bytea), gen_random_uuid(), 'Signer ' || g,
                   CASE WHEN g % 2 = 0 THEN 'DE' ELSE 'KE' END, 'web', now()
            FROM generate_series(\(start)::int, \(start + count - 1)::int) g
            """)
    }

    /// A petition with one files target (of `countries`).
    private func petitionWithTarget(_ slug: String, countries: [String]?, on connection: PostgresConnection) throws -> (Petition, DeliveryTarget) {
        let petition = try Petitions.upsert(slug: slug, title: "Plan", on: connection)
        let (target, _) = try Deliveries.saveTarget(
            petition: slug, name: "archive", title: "Archive", kind: "other", countries: countries, transport: .files, address: "/tmp/x",
            triggers: [.milestone], on: connection)
        return (petition, target)
    }

    @Test("a signature still being written when a delivery is planned is never left below its range")
    func watermarkWaitsForWriters() async throws {
        let url = try TestEnvironment.makeDatabase()
        defer { TestEnvironment.dropDatabase(url) }
        let setup = try PostgresConnection(url: url)
        let (petition, target) = try petitionWithTarget("plan-test", countries: nil, on: setup)
        try insert(10, petition: petition.id, from: 0, on: setup)

        // A writer (like dedup) that has inserted a signature but not committed yet: its id is taken.
        let writer = try PostgresConnection(url: url)
        try writer.execute("BEGIN")
        try insert(1, petition: petition.id, from: 100, on: writer)
        let pending = try writer.query("SELECT max(id) FROM signatures")[0].decode(Int64.self, 0)
        try insert(5, petition: petition.id, from: 10, on: setup)  // committed, with higher ids

        let planned = Mutex<Deliveries.Planned?>(nil)
        let planner = Thread {
            let connection = try! PostgresConnection(url: url)
            let plan = try! Deliveries.plan(target: target, trigger: "manual:a", giveUpAfter: .seconds(60), on: connection)
            planned.withLock { $0 = plan }
        }
        planner.start()
        try await Task.sleep(for: .milliseconds(500))
        #expect(planned.withLock { $0 } == nil, "the planner waits for the open write")
        try writer.execute("COMMIT")
        #expect(try await TestEnvironment.eventually(timeout: .seconds(10)) { planned.withLock { $0 } != nil })
        guard case .created(let first) = planned.withLock({ $0 }) else {
            Issue.record("no delivery planned")
            return
        }
        #expect(first.afterID == 0)
        #expect(first.throughID >= pending, "the uncommitted signature falls inside the first delivery")
        let inFirst = try setup.query("SELECT count(*) FROM signatures WHERE petition_id = \(petition.id) AND id <= \(first.throughID)")[0]
            .decode(Int.self, 0)
        #expect(inFirst == 16)

        // Again with the same trigger: the same delivery. A new trigger with nothing new: nothing.
        #expect(try Deliveries.plan(target: target, trigger: "manual:a", giveUpAfter: .seconds(60), on: setup) == .existing(first))
        #expect(try Deliveries.plan(target: target, trigger: "manual:b", giveUpAfter: .seconds(60), on: setup) == .nothingNew)

        // New signatures: the next range starts where the last ended.
        try insert(3, petition: petition.id, from: 200, on: setup)
        guard case .created(let second) = try Deliveries.plan(target: target, trigger: "manual:c", giveUpAfter: .seconds(60), on: setup) else {
            Issue.record("no second delivery")
            return
        }
        #expect(second.afterID == first.throughID)
        #expect(try setup.query("""
            SELECT count(*) FROM signatures WHERE petition_id = \(petition.id) AND id > \(second.afterID) AND id <= \(second.throughID)
            """)[0].decode(Int.self, 0) == 3)
    }

    @Test("a target's countries limit what it is planned for")
    func countriesFilter() async throws {
        let url = try TestEnvironment.makeDatabase()
        defer { TestEnvironment.dropDatabase(url) }
        let connection = try PostgresConnection(url: url)
        let (petition, germany) = try petitionWithTarget("plan-countries", countries: ["DE"], on: connection)
        try insert(1, petition: petition.id, from: 1, on: connection)  // a signer from KE
        #expect(try Deliveries.plan(target: germany, trigger: "manual:1", giveUpAfter: .seconds(60), on: connection) == .nothingNew)
        #expect(throws: Deliveries.TargetError.self) {
            try Deliveries.saveTarget(
                petition: "plan-countries", name: "x", title: "X", kind: "other", countries: ["ZZ"], transport: .files, address: "/tmp/x",
                triggers: [.milestone], on: connection)
        }
        #expect(throws: Deliveries.TargetError.self) {
            try Deliveries.saveTarget(
                petition: "plan-countries", name: "y", title: "Y", kind: "other", countries: nil, transport: .webhook, address: "ftp://x",
                triggers: [.milestone], on: connection)
        }
    }
}
