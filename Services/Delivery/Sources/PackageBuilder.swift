import Crypto
import Foundation
import Logging
import Models
import Postgres
import Store

/// A built delivery package on disk: `signatures.csv`, `manifest.json` and `cover-letter.html` in one
/// directory of the spool.
struct Package: Sendable {
    static let csvName = "signatures.csv"
    static let manifestName = "manifest.json"
    static let coverLetterName = "cover-letter.html"
    static let csvColumns = ["name", "country", "postal_code", "signed_at", "source"]

    let directory: URL
    let summary: PackageSummary

    var csv: URL { directory.appendingPathComponent(Self.csvName) }
    var manifest: URL { directory.appendingPathComponent(Self.manifestName) }
    var coverLetter: URL { directory.appendingPathComponent(Self.coverLetterName) }
}

/// Builds a delivery's package by streaming its signatures out of PostgreSQL (`COPY … TO STDOUT`, one row
/// at a time) into a file while hashing it, so a package of millions of signatures takes the same few
/// megabytes of memory as one of ten. The package depends only on the delivery's fixed id range, so a
/// rebuild (after a crash, or on another instance) is byte for byte the same and has the same checksum.
/// The spool holds nothing that cannot be rebuilt from the database.
struct PackageBuilder: Sendable {
    let pool: PostgresPool
    let spool: URL
    let logger: Logger

    func build(_ delivery: DeliveryRecord, target: DeliveryTarget, petition: Petition) async throws -> Package {
        // Made anew for every attempt, never taken from an earlier one: a signer erased between two attempts
        // is not in the second (the runner removes each package once its attempt is over).
        let directory = spool.appendingPathComponent("delivery-\(delivery.id)")
        let started = ContinuousClock.now
        let fileManager = FileManager.default
        try fileManager.createDirectory(at: spool, withIntermediateDirectories: true)
        // What a build of this delivery killed half way left behind.
        for leftover in (try? fileManager.contentsOfDirectory(atPath: spool.path)) ?? [] where leftover.hasPrefix(".building-\(delivery.id)-") {
            try? fileManager.removeItem(at: spool.appendingPathComponent(leftover))
        }
        let partial = spool.appendingPathComponent(".building-\(delivery.id)-\(UUID().uuidString.prefix(8))")
        try fileManager.createDirectory(at: partial, withIntermediateDirectories: true)
        defer { try? fileManager.removeItem(at: partial) }

        let csvURL = partial.appendingPathComponent(Package.csvName)
        let (summary, texts) = try await pool.withConnection { connection in
            try connection.transaction { connection in
                try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                try connection.query("""
                    SELECT set_config('undersigned.petition', \(String(target.petitionID)), true),
                           set_config('undersigned.after', \(String(delivery.afterID)), true),
                           set_config('undersigned.through', \(String(delivery.throughID)), true),
                           set_config('undersigned.countries', \((target.countries ?? []).joined(separator: ",")), true)
                    """)
                let byCountry = try connection.query("""
                    SELECT country, count(*), min(signed_at), max(signed_at), min(id), max(id) FROM signatures
                    WHERE \(sql: Self.range) GROUP BY country ORDER BY country
                    """)
                let texts = try connection.query("""
                    SELECT t.id, t.language, t.title, t.body, t.consent, count(*)
                    FROM (SELECT text_id FROM signatures WHERE \(sql: Self.range)) s LEFT JOIN petition_texts t ON t.id = s.text_id
                    GROUP BY 1, 2, 3, 4, 5 ORDER BY 1 NULLS LAST
                    """).map { row in
                        DeliveryManifest.TextPart(
                            version: try row.decodeIfPresent(Int64.self, 0), language: try row.decodeIfPresent(String.self, 1),
                            title: try row.decodeIfPresent(String.self, 2), text: try row.decodeIfPresent(String.self, 3),
                            consent: try row.decodeIfPresent(String.self, 4), signatures: try row.decode(Int64.self, 5))
                    }
                let (bytes, sha256) = try Self.streamCSV(on: connection, to: csvURL)
                var counts: [String: Int64] = [:]
                var first: Date?, last: Date?, firstID: Int64?, lastID: Int64?
                for row in byCountry {
                    counts[try row.decode(String.self, 0)] = try row.decode(Int64.self, 1)
                    first = min(first ?? .distantFuture, try row.decode(Date.self, 2))
                    last = max(last ?? .distantPast, try row.decode(Date.self, 3))
                    firstID = min(firstID ?? .max, try row.decode(Int64.self, 4))
                    lastID = max(lastID ?? .min, try row.decode(Int64.self, 5))
                }
                return (PackageSummary(
                    signatures: counts.values.reduce(0, +), countsByCountry: counts, firstSignedAt: first, lastSignedAt: last,
                    firstID: firstID, lastID: lastID, csvSHA256: sha256, csvBytes: bytes), texts)
            }
        }
        let manifest = DeliveryManifest(delivery: delivery, target: target, petition: petition, summary: summary, texts: texts)
        try manifest.encoded().write(to: partial.appendingPathComponent(Package.manifestName))
        try Data(CoverLetter(manifest: manifest, petitionText: petition.body).html().utf8)
            .write(to: partial.appendingPathComponent(Package.coverLetterName))
        if fileManager.fileExists(atPath: directory.path) { try fileManager.removeItem(at: directory) }
        try fileManager.moveItem(at: partial, to: directory)
        try await pool.withConnection { connection in try Deliveries.recordPackage(delivery.id, summary, on: connection) }
        logger.info("delivery package built", metadata: [
            "delivery": "\(delivery.id)", "target": "\(target.name)", "signatures": "\(summary.signatures)",
            "bytes": "\(summary.csvBytes)", "seconds": "\((ContinuousClock.now - started).inSeconds)",
        ])
        return Package(directory: directory, summary: summary)
    }

    /// The signatures of the delivery: its petition, its id range, its target's countries (values set
    /// with `set_config` in the same transaction, since COPY takes no bind parameters).
    private static let range: StaticString = """
        petition_id = current_setting('undersigned.petition')::bigint
          AND id > current_setting('undersigned.after')::bigint AND id <= current_setting('undersigned.through')::bigint
          AND (current_setting('undersigned.countries') = '' OR country = ANY(string_to_array(current_setting('undersigned.countries'), ',')))
        """

    /// Writes the CSV (RFC 4180, a header row, UTF-8) and returns its size and SHA-256. A name that a
    /// spreadsheet would run as a formula (starting with = + - @ or a tab) gets a leading apostrophe, so an
    /// office opening the file in Excel sees the text and runs nothing.
    static func streamCSV(on connection: PostgresConnection, to url: URL) throws -> (bytes: Int64, sha256: String) {
        let writer = try FileWriter(creating: url)
        var sha = SHA256()
        var buffer = [UInt8]()
        buffer.reserveCapacity(1 << 20)
        var bytes: Int64 = 0
        func flush() throws {
            guard !buffer.isEmpty else { return }
            sha.update(data: buffer)
            try writer.handle.write(contentsOf: buffer)
            bytes += Int64(buffer.count)
            buffer.removeAll(keepingCapacity: true)
        }
        try connection.copyOut("""
            COPY (SELECT CASE WHEN left(name, 1) IN ('=', '+', '-', '@', E'\\t', E'\\r') THEN '''' || name ELSE name END AS name,
                         country, postal_code,
                         to_char(signed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS signed_at, source
                  FROM signatures WHERE \(range) ORDER BY id)
            TO STDOUT WITH (FORMAT csv, HEADER true)
            """) { row in
            buffer.append(contentsOf: row)
            if buffer.count >= 1 << 20 { try flush() }
        }
        try flush()
        try writer.close()
        return (bytes, sha.finalize().hexString)
    }
}
