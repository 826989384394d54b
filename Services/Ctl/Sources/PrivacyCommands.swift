import ArgumentParser
import Foundation
import Models
import ServiceSupport
import Store

/// `undersigned erase EMAIL`: a signer's data removed everywhere Undersigned keeps it.
struct EraseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "erase", abstract: "Remove a signer's signatures from every petition (right to erasure), keeping counts honest.",
        discussion: """
            The address is canonicalised as dedup does and keyed with UNDERSIGNED_SIGNER_SECRET, so it finds the signer however
            they typed it; their signatures are also taken out of envelopes kept as dead letters. Prints what was removed, never
            the address. Packages already delivered to targets are not recalled.
            """)

    @Argument(help: "The signer's e-mail address.") var email: String

    func run() async throws {
        let reader = ConfigurationReader()
        let secret = reader.secret("UNDERSIGNED_SIGNER_SECRET")
        try reader.finish()
        let connection = try Environment().connect()
        let rules = try EmailRules.load(on: connection)
        let canonical: CanonicalEmail
        do { canonical = try CanonicalEmail(email, rules: rules) } catch { throw ValidationError("that is not an e-mail address: \(error.reason)") }
        let keys = try SignerKeyMaker(secret: secret)
        let key = keys.key(for: canonical)
        let erased = try Privacy.erase(signerKey: key, on: connection)
        if erased.signatures == 0 {
            print("no signatures of that signer")
        } else {
            print("removed \(erased.signatures) signature(s) from \(erased.petitions.joined(separator: ", ")); "
                + "\(erased.uncounted) taken off the counts, the rest will not be counted")
        }
        // In a letter that is not an envelope, the address as typed or in its canonical form, in any case.
        let needles = Set([email.trimmingWhitespace().lowercased(), canonical.value.lowercased()]).map { Array($0.utf8) }
        let dead = try await DeadLetters.erase(
            where: { signature in (try? CanonicalEmail(signature.email, rules: rules)).map(keys.key(for:)) == key },
            mentions: { body in needles.contains { Self.contains(body, $0) } })
        if dead.signatures > 0 { print("removed \(dead.signatures) signature(s) from dead letters") }
        if dead.unreadable > 0 { print("removed \(dead.unreadable) unreadable dead letter(s) that named the signer") }
    }
}

extension EraseCommand {
    /// Whether `haystack` holds `needle` (lowercase), ignoring the case of ASCII letters.
    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let lower = { (byte: UInt8) in byte >= 65 && byte <= 90 ? byte + 32 : byte }
        outer: for start in 0...(haystack.count - needle.count) where lower(haystack[start]) == needle[0] {
            for offset in 1..<needle.count where lower(haystack[start + offset]) != needle[offset] { continue outer }
            return true
        }
        return false
    }
}

/// `undersigned anonymise --closed-before DATE`: retention for closed petitions.
struct AnonymiseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "anonymise",
        abstract: "Strip names, postal codes, contact consent and signer keys from petitions closed before a date; counts stay.")

    @Option(help: "RFC 3339 time or a date (2027-01-31): petitions closed before it.") var closedBefore: String

    func run() throws {
        guard let date = Timestamp.parse(closedBefore) ?? Timestamp.parse(closedBefore + "T00:00:00Z") else {
            throw ValidationError("--closed-before must be a date (2027-01-31) or an RFC 3339 time")
        }
        let (petitions, signatures) = try Privacy.anonymise(closedBefore: date, on: Environment().connect())
        print(petitions.isEmpty ? "no petition closed before \(Timestamp.format(date))"
            : "anonymised \(signatures) signatures of \(petitions.count) petition(s): \(petitions.joined(separator: ", "))")
    }
}

/// `undersigned contacts PETITION`: the signers who agreed to be contacted, for the campaign's mailing.
struct ContactsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "contacts",
        abstract: "Print name,email (CSV) of a petition's signers who agreed to be contacted (needs UNDERSIGNED_DATA_KEYS).",
        discussion: "Personal data: write it to a protected place (--output), never to a shared log.")

    @Argument var petition: String
    @Option(help: "Write to this file (created with mode 600) instead of standard output.") var output: String?

    func run() throws {
        let reader = ConfigurationReader()
        let keys = reader.optionalString("UNDERSIGNED_DATA_KEYS")
        try reader.finish()
        guard let keys else { throw ValidationError("set UNDERSIGNED_DATA_KEYS: addresses are sealed with it") }
        let sealer: ContactSealer
        do { sealer = try ContactSealer(keys: keys) } catch { throw ValidationError(error.reason) }
        var csv = "name,email\r\n"
        var unreadable = 0
        let rows = try Privacy.contacts(petition: petition, on: Environment().connect())
        for row in rows {
            guard let email = sealer.open(row.sealed, signerKey: row.signerKey) else {
                unreadable += 1
                continue
            }
            csv += [row.name, email].map(SpreadsheetCSV.field).joined(separator: ",") + "\r\n"
        }
        if let output {
            guard FileManager.default.createFile(atPath: output, contents: Data(csv.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("cannot write \(output)")
            }
        } else {
            print(csv, terminator: "")
        }
        FileHandle.standardError.write(Data("\(rows.count - unreadable) contacts\(unreadable > 0 ? ", \(unreadable) sealed with a key not given" : "")\n".utf8))
    }
}
