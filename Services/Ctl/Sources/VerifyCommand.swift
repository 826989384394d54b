import ArgumentParser
import Foundation
import Models
import Postgres
import ServiceSupport

/// `undersigned verify`: checks a load run against the database. Every acknowledged signer (a 202 or a
/// broker confirm) must be in the signatures table; the count must equal the signatures, in total and
/// per country, and nothing may be counted twice. Needs `UNDERSIGNED_SIGNER_SECRET` to derive signer keys.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check that every acknowledged signature is stored and counted exactly once.")

    @Option(help: "Petition slug.") var petition = "digital-peace-now"
    @Option(name: .customLong("record"), help: "Files written by `loadgen --record` (repeat the option).") var records: [String]
    @Option(help: "Signatures sent (attempts), for the report line.") var sent = 0
    @Option(help: "Prefix of the report line.") var label = "verify"

    func run() throws {
        let environment = try Environment()
        let reader = ConfigurationReader()
        let keys = try SignerKeyMaker(secret: reader.secret("UNDERSIGNED_SIGNER_SECRET"))
        try reader.finish()

        var acknowledged = 0
        var signerKeys = Set<SignerKey>()
        for file in records {
            for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") where !line.isEmpty {
                acknowledged += 1
                let email = String(line.split(separator: ",", maxSplits: 1)[0])
                signerKeys.insert(keys.key(for: try CanonicalEmail(email)))
            }
        }
        let connection = try environment.connect()
        let keyList = signerKeys.map { ByteA($0.bytes) }
        let lost = try connection.query("""
            SELECT count(*) FROM unnest(\(keyList)::bytea[]) AS k(key)
            WHERE NOT EXISTS (SELECT 1 FROM signatures s JOIN petitions p ON p.id = s.petition_id
                              WHERE p.slug = \(petition) AND s.signer_key = k.key)
            """).first?.decode(Int.self, 0) ?? 0
        var stored: [String: Int64] = [:]
        for row in try connection.query("""
            SELECT s.country, count(*)::bigint FROM signatures s JOIN petitions p ON p.id = s.petition_id
            WHERE p.slug = \(petition) GROUP BY s.country
            """) {
            stored[try row.decode(String.self, 0)] = try row.decode(Int64.self, 1)
        }
        var counted: [String: Int64] = [:]
        for row in try connection.query("""
            SELECT c.country, sum(c.count)::bigint FROM petition_counts c JOIN petitions p ON p.id = c.petition_id
            WHERE p.slug = \(petition) GROUP BY c.country
            """) {
            counted[try row.decode(String.self, 0)] = try row.decode(Int64.self, 1)
        }
        let accepted = stored.values.reduce(0, +)
        let total = counted.values.reduce(0, +)
        // Counted more often than stored, country by country: a signature counted twice.
        let double = Set(stored.keys).union(counted.keys).reduce(Int64(0)) { $0 + max(0, (counted[$1] ?? 0) - (stored[$1] ?? 0)) }
        let short = Set(stored.keys).union(counted.keys).filter { (counted[$0] ?? 0) < (stored[$0] ?? 0) }.sorted()
        print("\(label): sent=\(sent) acknowledged=\(acknowledged) accepted=\(accepted) counted=\(total) lost=\(lost) double=\(double)")
        if !short.isEmpty { print("\(label): countries counted short: \(short.joined(separator: ","))") }
        guard lost == 0, double == 0, total == accepted, short.isEmpty else { throw ExitCode(1) }
    }
}
