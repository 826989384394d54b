import Foundation
import Models
import Testing

/// The hand-written hot-path helpers must agree with Foundation, which they replace for speed.
@Suite("Text and timestamps")
struct TextAndTimeTests {
    static let samples = [
        "", " ", "ada", "  Ada Lovelace \n", "\t\u{00A0}Олена\u{3000}", "\u{2028}x\u{2029}", "a b", "\r\n", "محمد ",
        "e\u{301}", " Nguye\u{302}\u{303}n ",
    ]

    @Test func trimsLikeFoundation() {
        for sample in Self.samples {
            #expect(sample.trimmingWhitespace() == sample.trimmingCharacters(in: .whitespacesAndNewlines), "\(sample.debugDescription)")
        }
    }

    @Test func composesLikeFoundation() {
        for sample in Self.samples + ["Zoe\u{308}", "Ｆｕｌｌ", "ﬁ"] {
            #expect(sample.canonicalComposed() == sample.precomposedStringWithCanonicalMapping)
        }
    }

    @Test func randomUUIDsAreVersion4AndDistinct() {
        let ids = (0..<1000).map { _ in UUID.random() }
        #expect(Set(ids).count == 1000)
        for id in ids.prefix(50) {
            let text = id.uuidString
            #expect(Array(text)[14] == "4")
            #expect("89AB".contains(Array(text)[19]))
        }
    }

    @Test func formatsAndParsesLikeFoundation() throws {
        var random = SystemRandomNumberGenerator()
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        // From 1900 to 2200, with milliseconds, and the edges of leap years.
        var dates = (0..<2000).map { _ in Date(timeIntervalSince1970: Double(Int64.random(in: -2_208_988_800_000...7_258_118_400_000, using: &random)) / 1000) }
        dates += [0, 951_782_400, 951_868_799.999, 4_107_542_400, -0.001].map { Date(timeIntervalSince1970: $0) }
        for date in dates {
            let text = Timestamp.format(date)
            // Foundation truncates 0.80999… to .809 where we round the binary value to the millisecond
            // it was made from; the two never differ by more than that millisecond.
            let theirs = try style.parse(style.format(date)).timeIntervalSince1970
            #expect(abs((try style.parse(text)).timeIntervalSince1970 - theirs) < 0.0011, "\(text) vs \(style.format(date))")
            #expect(text.count == 24 && text.hasSuffix("Z"))
            let parsed = try #require(Timestamp.parse(text))
            #expect(abs(parsed.timeIntervalSince1970 - (try style.parse(text)).timeIntervalSince1970) < 0.000_001)
        }
    }

    @Test func parsesOffsetsAndRefusesNonsense() {
        #expect(Timestamp.parse("2026-11-29T15:03:07+01:00")?.timeIntervalSince1970 == Timestamp.parse("2026-11-29T14:03:07Z")?.timeIntervalSince1970)
        #expect(Timestamp.parse("2026-11-29T14:03:07.5-02:30")?.timeIntervalSince1970 == Timestamp.parse("2026-11-29T16:33:07.5Z")?.timeIntervalSince1970)
        for bad in ["", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-29", "2026-11-29T14:03:07", "2026-11-29T14:03:07.Z",
                    "2026-11-29T24:00:00Z", "yesterday", "2026-11-29T14:03:07Zjunk"] {
            #expect(Timestamp.parse(bad) == nil, "\(bad)")
        }
    }
}

/// The hand-written JSON reader against Foundation's, on valid and invalid documents.
@Suite("JSON reader")
struct JSONReaderTests {
    static let valid = [
        #"{}"#, #"[]"#, #" {"a": [1, -2.5e3, 0, true, false, null, "x"]} "#, #""é\u00e9\ud83d\ude00\n\"\\\/""#, #"0"#, #"-0.0"#,
        #"{"name":"Олена Kovalenko","email":" A@GMAIL.com ","country":"ua","contact_opt_in":true}"#, #"[[[[[]]]]]"#, "1E+2",
    ]
    static let invalid = [
        "", " ", "{", "}", #"{"a"}"#, #"{"a":}"#, #"{"a":1,}"#, "[1,]", "01", "1.", ".5", "-", "+1", "1e", #""\x""#, #""\ud800""#,
        #""\udc00x""#, "tru", "nul", #"{"a":1}x"#, #"{'a':1}"#, "\"tab\there\"", "[1 2]", #"{"a" 1}"#, "NaN", "[\"\u{7}\"]", "37E16440", "-1e400",
    ]

    @Test func readsWhatFoundationReads() throws {
        for text in Self.valid {
            let value = try #require(JSONReader.parse(Array(text.utf8)), "\(text)")
            let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(Self.same(value, foundation), "\(text)")
        }
    }

    @Test func refusesWhatTheRFCRefuses() {
        for text in Self.invalid {
            #expect(JSONReader.parse(Array(text.utf8)) == nil, "\(text.debugDescription)")
        }
        #expect(JSONReader.parse([0x22, 0xC3, 0x28, 0x22]) == nil)  // invalid UTF-8 in a string
        #expect(JSONReader.parse(Array((String(repeating: "[", count: 100) + String(repeating: "]", count: 100)).utf8)) == nil)
    }

    @Test func neverCrashesOnRandomBytes() {
        var random = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]":,-+.eE0123456789tfnrul\ "#.utf8) + [0xC3, 0xA9, 0x00, 0xFF]
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...40, using: &random)).map { _ in alphabet.randomElement(using: &random)! }
            let ours = JSONReader.parse(bytes)
            let theirs = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
            // Foundation is more lenient in places (it reads some numbers we refuse); never the other way round.
            if ours != nil { #expect(theirs != nil, "\(bytes)") }
        }
    }

    static func same(_ value: JSONValue, _ object: Any) -> Bool {
        switch value {
        case .null: return object is NSNull
        case .bool(let flag): return object as? Bool == flag
        case .number(let number): return (object as? NSNumber)?.doubleValue == number
        case .string(let text): return object as? String == text
        case .array(let elements):
            guard let array = object as? [Any], array.count == elements.count else { return false }
            return zip(elements, array).allSatisfy { same($0, $1) }
        case .object(let members):
            guard let dictionary = object as? [String: Any], dictionary.count == members.count else { return false }
            return members.allSatisfy { key, member in dictionary[key].map { same(member, $0) } ?? false }
        }
    }
}

@Suite("Addresses, networks and token buckets")
struct NetworkTests {
    @Test func parsesAndMatchesNetworks() throws {
        let festival = try #require(IPNetwork("10.99.0.0/16"))
        #expect(festival.contains(try #require(IPAddress("10.99.250.3"))))
        #expect(!festival.contains(try #require(IPAddress("10.98.0.1"))))
        #expect(IPNetwork("10.99.12.34/16") == festival, "host bits are masked")
        let v6 = try #require(IPNetwork("2001:db8::/32"))
        let inside = try #require(IPAddress("2001:db8:1::5")), outside = try #require(IPAddress("2001:db9::1"))
        #expect(v6.contains(inside) && !v6.contains(outside))
        #expect(IPAddress("::ffff:192.0.2.1") == IPAddress("192.0.2.1"), "IPv4-mapped addresses are IPv4")
        #expect(IPNetwork("192.0.2.1")?.prefix == 32 && IPNetwork("192.0.2.1/33") == nil && IPNetwork("not an address") == nil)
        let everything = try #require(IPNetwork("0.0.0.0/0")), twelve = try #require(IPNetwork("10.0.0.0/12"))
        #expect(everything.contains(try #require(IPAddress("8.8.8.8"))))
        #expect(twelve.contains(try #require(IPAddress("10.15.255.255"))))
        #expect(!twelve.contains(try #require(IPAddress("10.16.0.0"))))
        #expect(try IPNetwork.list(" 127.0.0.0/8, ::1/128 ").count == 2)
        #expect(throws: ValidationProblem.self) { try IPNetwork.list("127.0.0.0/8, nonsense") }
        #expect(IPAddress("[::1]")?.description == "::1" && IPAddress("203.0.113.9")?.description == "203.0.113.9")
    }

    @Test func tokenBucketRefillsAtItsRate() {
        var bucket = TokenBucket(burst: 3, now: 0)
        #expect((0..<3).allSatisfy { _ in bucket.take(rate: 0.5, burst: 3, now: 0) == nil })
        let wait = bucket.take(rate: 0.5, burst: 3, now: 0)
        #expect(wait == 2)
        #expect(bucket.take(rate: 0.5, burst: 3, now: 2) == nil)
        #expect(bucket.take(rate: 0.5, burst: 3, now: 2) != nil)
        #expect(bucket.isFull(rate: 0.5, burst: 3, now: 100))
    }
}

@Suite("Sealed contact addresses")
struct ContactSealerTests {
    @Test func sealsOpensAndRotates() throws {
        let old = String(repeating: "ab", count: 32), new = Data(repeating: 7, count: 32).base64EncodedString()
        let signer = SignerKey(bytes: Array(repeating: 1, count: 32)), other = SignerKey(bytes: Array(repeating: 2, count: 32))
        let before = try ContactSealer(keys: old)
        let sealed = try before.seal("ada@example.org", signerKey: signer)
        #expect(sealed.first == 1 && !String(decoding: sealed, as: UTF8.self).contains("ada"))
        #expect(before.open(sealed, signerKey: signer) == "ada@example.org")
        #expect(before.open(sealed, signerKey: other) == nil, "bound to its signer")
        let after = try ContactSealer(keys: "1:\(old), 2:\(new)")
        #expect(after.currentID == 2 && after.open(sealed, signerKey: signer) == "ada@example.org", "old boxes still open")
        let resealed = try after.seal("ada@example.org", signerKey: signer)
        #expect(resealed.first == 2 && before.open(resealed, signerKey: signer) == nil)
        #expect(try after.seal("ada@example.org", signerKey: signer) != resealed, "a fresh nonce each time")
        #expect(throws: ValidationProblem.self) { try ContactSealer(keys: "1:short") }
        #expect(throws: ValidationProblem.self) { try ContactSealer(keys: "0:\(old)") }
    }
}
