import Foundation
import Models
import Testing

@Suite("Canonical email")
struct CanonicalEmailTests {
    /// `Corpus/email-pairs.tsv`: pairs of addresses that are (or are not) one signer under the default rules.
    static let corpus: [(same: Bool, first: String, second: String, why: String)] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Corpus/email-pairs.tsv")
        let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return (fields[0] == "same", fields[1], fields[2], fields[3])
        }
    }()

    @Test("the corpus: at least 200 pairs, each the same signer or not as it says")
    func corpusPairs() throws {
        #expect(Self.corpus.count >= 200)
        #expect(Self.corpus.filter(\.same).count >= 100 && Self.corpus.filter { !$0.same }.count >= 100)
        for pair in Self.corpus {
            let first = try CanonicalEmail(pair.first), second = try CanonicalEmail(pair.second)
            #expect((first == second) == pair.same, "\(pair.why): \(pair.first) / \(pair.second)")
        }
    }

    @Test("rules as data: a provider added at run time merges its aliases, tags and dropped characters")
    func rulesAsData() throws {
        let rules = EmailProviderRules(providers: EmailProviderRules.default.providers + [
            .init(domain: "posteo.de", aliases: ["posteo.net"], tagSeparators: ["+"], dropCharacters: "_"),
        ])
        #expect(try CanonicalEmail("ada_lovelace+x@posteo.net", rules: rules) == CanonicalEmail("adalovelace@posteo.de", rules: rules))
        #expect(try CanonicalEmail("ada_lovelace@posteo.net") != CanonicalEmail("adalovelace@posteo.de"), "not without the rule")
    }

    @Test("Punycode decodes as RFC 3492 says, and refuses what is not Punycode")
    func punycode() {
        #expect(Punycode.decode("bcher-kva") == "bücher")
        #expect(Punycode.decode("e1afmkfd") == "пример")
        #expect(Punycode.decodeDomain("xn--r8jz45g.jp") == "例え.jp")
        #expect(Punycode.decode("!!") == nil && Punycode.decode("99999999999999") == nil)
        #expect(throws: ValidationProblem.self) { try CanonicalEmail("ada@xn--!!.de") }
    }

    @Test("the same mailbox gives the same canonical form", arguments: [
        ("Ada@Example.org", "ada@example.org"),
        ("  ada@example.org\n", "ada@example.org"),
        ("ADA@EXAMPLE.ORG.", "ada@example.org"),
        ("Ada.Lovelace@gmail.com", "adalovelace@gmail.com"),
        ("a.d.a.lovelace+petitions@googlemail.com", "adalovelace@gmail.com"),
        ("ada+tag+more@outlook.com", "ada@outlook.com"),
        ("ada+x@me.com", "ada@icloud.com"),
        ("ada-news@yahoo.com", "ada@yahoo.com"),
        // NFC: "é" as e + combining acute and as one code point
        ("jose\u{0301}@example.org", "jos\u{00E9}@example.org"),
        ("JOS\u{00C9}@EXAMPLE.ORG", "jos\u{00E9}@example.org"),
    ])
    func canonicalises(raw: String, expected: String) throws {
        #expect(try CanonicalEmail(raw).value == expected)
    }

    @Test("unknown domains keep dots and plus signs: merging two people is worse than missing a duplicate")
    func unknownDomainsKeepTheirLocalPart() throws {
        #expect(try CanonicalEmail("a.da+x@example.org").value == "a.da+x@example.org")
        #expect(try CanonicalEmail("ada.l@gmail.com") != CanonicalEmail("ada.l@example.org"))
    }

    @Test("addresses that cannot be delivered are refused, naming the field", arguments: [
        "", "   ", "ada", "ada@", "@example.org", "ada@localhost", "ada@@example.org", "a da@example.org",
        ".ada@example.org", "ada..l@example.org", "ada@exa_mple.org", "ada@-example.org",
        String(repeating: "a", count: 65) + "@example.org",
        "ada@" + String(repeating: "a", count: 250) + ".org",
    ])
    func refusesInvalid(raw: String) {
        #expect(throws: ValidationProblem.self) { try CanonicalEmail(raw) }
        do {
            _ = try CanonicalEmail(raw)
        } catch {
            #expect(error.field == "email")
            #expect(!error.reason.contains(raw) || raw.trimmingCharacters(in: .whitespaces).isEmpty)
        }
    }

    @Test("a tag separator at the start is not a tag: nothing is left to strip")
    func leadingSeparatorIsKept() throws {
        #expect(try CanonicalEmail("+news@gmail.com").value == "+news@gmail.com")
    }

    @Test("provider rules are data: a new provider needs no code")
    func rulesAreData() throws {
        let rules = EmailProviderRules(providers: [
            .init(domain: "example.net", aliases: ["example.com"], ignoresDots: true, tagSeparators: ["_"]),
        ])
        #expect(try CanonicalEmail("A.da_news@example.com", rules: rules).value == "ada@example.net")
        #expect(try CanonicalEmail("A.da+news@gmail.com", rules: rules).value == "a.da+news@gmail.com")
    }
}

@Suite("Signer key")
struct SignerKeyTests {
    let secret = Array(repeating: UInt8(7), count: 32)

    @Test func isDeterministicAndKeyed() throws {
        let maker = try SignerKeyMaker(secret: secret)
        let other = try SignerKeyMaker(secret: Array(repeating: UInt8(8), count: 32))
        let a = try CanonicalEmail("Ada.Lovelace@gmail.com")
        let b = try CanonicalEmail("adalovelace+x@googlemail.com")
        #expect(maker.key(for: a) == maker.key(for: b))
        #expect(maker.key(for: a).bytes.count == 32)
        #expect(maker.key(for: a) != other.key(for: a))
        #expect(maker.key(for: a) != maker.key(for: try CanonicalEmail("ada@example.org")))
    }

    @Test func refusesAShortSecret() {
        #expect(throws: ValidationProblem.self) { try SignerKeyMaker(secret: Array(repeating: 1, count: 16)) }
    }

    @Test func partnerSubmissionIDsAreStable() {
        let a = Signature.partnerSubmissionID(partner: "greenpeace", reference: "row-17")
        #expect(a == Signature.partnerSubmissionID(partner: "greenpeace", reference: "row-17"))
        #expect(a != Signature.partnerSubmissionID(partner: "amnesty", reference: "row-17"))
        #expect(a.uuidString.count == 36)
    }
}
