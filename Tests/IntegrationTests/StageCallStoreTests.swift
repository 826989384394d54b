import Foundation
import Models
import Postgres
import Store
import Testing

@testable import Tally

/// The stage call in the database: channels in the count (and the migration that split the counts kept
/// before them), rehearsals, and the call's per-minute history.
@Suite("The stage call in the store", .serialized)
struct StageCallStoreTests {
    /// A petition row and signatures written the way dedup writes them; returns the petition's id.
    private static func seed(_ connection: PostgresConnection, sources: [(source: String, partner: String?, country: String, counted: Bool)]) throws -> Int64 {
        let petition = try connection.query("INSERT INTO petitions (slug, title, code) VALUES ('call', 'Call', 'call1') RETURNING id")[0].decode(Int64.self, 0)
        for (index, row) in sources.enumerated() {
            let id = try connection.query("""
                INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, partner, signed_at)
                VALUES (\(petition), \(ByteA(Array(repeating: UInt8(index), count: 32))), \(UUID()), 'x', \(row.country), \(row.source), \(row.partner), now())
                RETURNING id
                """)[0].decode(Int64.self, 0)
            if row.counted { try connection.query("INSERT INTO tally_counted (signature_id) VALUES (\(id))") }
        }
        return petition
    }

    static let sources: [(source: String, partner: String?, country: String, counted: Bool)] = [
        ("web", nil, "NL", true), ("screen:main", nil, "NL", true), ("utm:news", nil, "DE", true), ("kiosk:gate-1", nil, "NL", true),
        ("partner:acme", "acme", "NL", true), ("partner:acme", "acme", "DE", true), ("paper:acme", "acme", "NL", true),
        ("web", nil, "DE", false),
    ]

    @Test("counts kept before channels are split by their signatures' channels, every total as it was")
    func channelsMigrationKeepsEveryTotal() throws {
        let url = try TestEnvironment.makeDatabase(migrated: false)
        defer { TestEnvironment.dropDatabase(url) }
        let connection = try PostgresConnection(url: url)
        let before = Migrator(migrations: Schema.migrator.migrations.filter { $0.version <= 18 })
        _ = try before.migrate(on: connection, logger: TestEnvironment.logger)
        let petition = try Self.seed(connection, sources: Self.sources)
        // As tally kept them: two shards, by country only (NL 5 = 3 + 2, DE 2).
        try connection.query("INSERT INTO petition_counts (petition_id, country, shard, count) VALUES (\(petition), 'NL', 0, 3), (\(petition), 'NL', 1, 2), (\(petition), 'DE', 2, 2)")
        _ = try Schema.migrator.migrate(on: connection, logger: TestEnvironment.logger)
        let count = try Counts.read(petitionID: petition, on: connection)
        #expect(count.total == 7 && count.byCountry == ["NL": 5, "DE": 2])
        #expect(count.byChannel == ["web": 3, "kiosk": 1, "partner": 2, "paper": 1])
        let report = try Recount.check(on: connection)
        #expect(report.differences.isEmpty && report.uncounted == ["call": 1])
    }

    @Test("the channel of a source is one rule: the database's signature_channel and SourceCounts.channel agree")
    func oneChannelRule() throws {
        let url = try TestEnvironment.makeDatabase()
        defer { TestEnvironment.dropDatabase(url) }
        let connection = try PostgresConnection(url: url)
        let sources = ["web", "screen:main", "utm:kiosk:x", "kiosk:gate-1", "kiosk", "partner:acme", "partner", "paper", "paper:acme", "paperback", "PAPER"]
        let database = try connection.query("SELECT s, signature_channel(s) FROM unnest(\(sources)::text[]) AS s")
            .map { (try $0.decode(String.self, 0), try $0.decode(String.self, 1)) }
        #expect(database.count == sources.count)
        for (source, channel) in database { #expect(SourceCounts.channel(of: source) == channel, "\(source)") }
        #expect(database.map(\.1) == ["web", "web", "web", "kiosk", "web", "partner", "web", "paper", "paper", "web", "web"])
    }

    @Test("a rehearsal: its own petition, signed through the real one whatever its window, hidden from lists; reset wipes only it")
    func rehearsal() throws {
        let url = try TestEnvironment.makeDatabase()
        defer { TestEnvironment.dropDatabase(url) }
        let connection = try PostgresConnection(url: url)
        let real = try Petitions.upsert(slug: "show", title: "Show", milestones: [2], opensAt: Date() + 3600, on: connection)
        #expect(real.rehearsal == nil && real.signingPhase() == .scheduled && real.signingSlug == "show")
        let on = try #require(try Rehearsals.set(true, slug: "show", on: connection))
        let rehearsal = try #require(on.rehearsal)
        #expect(rehearsal.slug == "rehearsal-of-\(real.id)" && on.signingSlug == rehearsal.slug && on.signingPhase() == .open)
        let shadow = try #require(try Petitions.find(slug: rehearsal.slug, on: connection))
        #expect(shadow.rehearsalOf == real.id && shadow.milestones == [2] && !shadow.requiresVerification)
        #expect(try Petitions.list(on: connection).map(\.slug) == ["show"])
        #expect(try Rehearsals.set(true, slug: rehearsal.slug, on: connection) == nil, "a rehearsal has no rehearsal")
        try connection.query("UPDATE petitions SET paused_at = now() WHERE slug = 'show'")
        #expect(try Petitions.find(slug: "show", on: connection)?.signingPhase() == .paused, "a pause holds a rehearsal too")
        // One signature each, counted; a milestone of the rehearsal's.
        for (petition, byte) in [(shadow.id, UInt8(1)), (real.id, UInt8(2))] {
            let id = try connection.query("""
                INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, signed_at)
                VALUES (\(petition), \(ByteA(Array(repeating: byte, count: 32))), \(UUID()), 'x', 'NL', 'web', now()) RETURNING id
                """)[0].decode(Int64.self, 0)
            try connection.query("INSERT INTO tally_counted (signature_id) VALUES (\(id))")
            try connection.query("INSERT INTO petition_counts (petition_id, country, channel, shard, count) VALUES (\(petition), 'NL', 'web', 0, 1)")
            try connection.query("INSERT INTO count_buckets (petition_id, bucket, shard, count) VALUES (\(petition), now(), 0, 1)")
        }
        try connection.query("INSERT INTO milestones (petition_id, threshold, total) VALUES (\(shadow.id), 1, 1)")
        let view = try CountView.load(try #require(try Petitions.find(slug: "show", on: connection)), on: connection)
        #expect(view.rehearsal && view.total == 1 && view.reached == [1] && view.petition == "show")
        let wiped = try #require(try Rehearsals.reset(slug: "show", on: connection))
        #expect(wiped.signatures == 1 && wiped.counted == 1)
        let left = try #require(try Rehearsals.held(slug: "show", on: connection))
        #expect(left.signatures == 0 && left.counted == 0)
        // The screens take the rehearsal's lower count: its erasures grew by what reset wiped.
        let afterReset = try CountView.load(try #require(try Petitions.find(slug: "show", on: connection)), on: connection)
        #expect(afterReset.rehearsal && afterReset.total == 0 && afterReset.erased == 1)
        for table in ["signatures", "petition_counts", "count_buckets", "milestones"] {
            #expect(try connection.query("SELECT count(*) FROM \(identifier: table) WHERE petition_id = \(shadow.id)")[0].decode(Int64.self, 0) == 0)
            #expect(try connection.query("SELECT count(*) FROM \(identifier: table) WHERE petition_id = \(real.id)")[0].decode(Int64.self, 0) == (table == "milestones" ? 0 : 1))
        }
        let off = try #require(try Rehearsals.set(false, slug: "show", on: connection))
        #expect(off.rehearsal == nil && off.signingSlug == "show")
        let real2 = try CountView.load(off, on: connection)
        #expect(!real2.rehearsal && real2.total == 1 && real2.erased == 0)
        // Anonymising the petition once it closed takes its rehearsal's signatures (a crew's) with it.
        try connection.query("""
            INSERT INTO signatures (petition_id, signer_key, submission_id, name, country, source, signed_at)
            VALUES (\(shadow.id), \(ByteA(Array(repeating: 3, count: 32))), \(UUID()), 'crew', 'NL', 'web', now())
            """)
        #expect(try Privacy.anonymise(closedBefore: Date(), on: connection).petitions.isEmpty, "nothing closed yet")
        try connection.query("UPDATE petitions SET status = 'closed', closed_at = now() - interval '1 day' WHERE id = \(real.id)")
        #expect(try Privacy.anonymise(closedBefore: Date(), on: connection).petitions == [rehearsal.slug, "show"])
        #expect(try connection.query("SELECT count(*) FROM signatures WHERE name <> ''")[0].decode(Int64.self, 0) == 0)
    }

    @Test("tally folds buckets an hour old into the per-minute history kept for the petition's life, by channel")
    func historyIsKeptPerMinute() throws {
        let url = try TestEnvironment.makeDatabase()
        defer { TestEnvironment.dropDatabase(url) }
        let connection = try PostgresConnection(url: url)
        let petition = try Self.seed(connection, sources: [("kiosk:gate-1", nil, "NL", false)])
        let signature = try connection.query("SELECT id FROM signatures")[0].decode(Int64.self, 0)
        // Two buckets of the same minute, three hours ago, and one of the last hour.
        try connection.query("""
            INSERT INTO count_buckets (petition_id, bucket, shard, count) VALUES
                (\(petition), date_trunc('minute', now()) - interval '3 hours', 0, 4),
                (\(petition), date_trunc('minute', now()) - interval '3 hours' + interval '20 seconds', 1, 6),
                (\(petition), date_trunc('minute', now()) - interval '5 minutes', 0, 2)
            """)
        let event = SignatureAccepted(signatureID: signature, submissionID: UUID(), petition: "call", country: "NL", source: "kiosk:gate-1",
                                      signedAt: Date(), acceptedAt: Date())
        #expect(try connection.transaction { try CountStore.count([event], shard: 0, on: $0) } == [petition])
        #expect(try connection.query("SELECT count(*), sum(count) FROM count_minutes")[0].decode(Int64.self, 1) == 10)
        #expect(try connection.query("SELECT count(*) FROM count_buckets WHERE bucket < now() - interval '1 hour'")[0].decode(Int64.self, 0) == 0)
        let minutes = try CallHistory.countedPerMinute(petitionID: petition, from: Date() - 4 * 3600, to: Date() + 60, on: connection)
        #expect(minutes.map(\.count) == [10, 2, 1])
        #expect(try Counts.read(petitionID: petition, on: connection).byChannel == ["kiosk": 1])
        #expect(try connection.query("SELECT counted_at > now() - interval '1 minute' FROM tally_counted")[0].decode(Bool.self, 0))
    }
}
