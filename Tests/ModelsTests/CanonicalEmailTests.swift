import Models
import Testing

@Suite("Canonical email")
struct CanonicalEmailTests {
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
