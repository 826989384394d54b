@testable import Delivery
import Foundation
import NIOCore
import NIOEmbedded
@testable import Store
import Testing

@Suite("Delivery formats: SMTP framing, MIME headers, the cover letter")
struct DeliveryFormatTests {
    @Test("a dot at the start of a line is doubled, also across pieces")
    func dotStuffing() {
        var stuffer = DotStuffer()
        let out = stuffer.stuff(Data(".first\r\nmiddle.\r\n".utf8)) + stuffer.stuff(Data(".".utf8)) + stuffer.stuff(Data("second\r\n..\r\n".utf8))
        #expect(String(decoding: out, as: UTF8.self) == "..first\r\nmiddle.\r\n..second\r\n...\r\n")
        #expect(stuffer.endsWithLineBreak)
        _ = stuffer.stuff(Data("no end".utf8))
        #expect(!stuffer.endsWithLineBreak)
    }

    @Test("multi-line SMTP replies are joined, single lines pass")
    func replies() throws {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(SMTPReplyDecoder()))
        try channel.writeInbound(ByteBuffer(string: "250-relay.example greets you\r\n250-STARTTLS\r\n250 AUTH PLAIN\r\n220 go"))
        let reply = try #require(try channel.readInbound(as: SMTPReply.self))
        #expect(reply.code == 250 && reply.lines == ["relay.example greets you", "STARTTLS", "AUTH PLAIN"])
        #expect(try channel.readInbound(as: SMTPReply.self) == nil)
        try channel.writeInbound(ByteBuffer(string: " ahead\r\n"))
        #expect(try channel.readInbound(as: SMTPReply.self)?.text == "go ahead")
        #expect(throws: (any Error).self) { try channel.writeInbound(ByteBuffer(string: "garbage\r\n")) }
    }

    @Test("non-ASCII or control characters in a subject become RFC 2047 words; no header injection")
    func encodedWords() {
        #expect(MIMEMessage.encodedWord("Plain subject") == "Plain subject")
        let encoded = MIMEMessage.encodedWord("Petition “Frieden”\r\nBcc: everyone@example.org")
        #expect(!encoded.contains("\r\nBcc"))
        let words = encoded.components(separatedBy: "\r\n ")
        #expect(words.allSatisfy { $0.hasPrefix("=?UTF-8?B?") && $0.hasSuffix("?=") && $0.count <= 75 })
        let decoded = words.map { String(decoding: Data(base64Encoded: String($0.dropFirst(10).dropLast(2)))!, as: UTF8.self) }.joined()
        #expect(decoded == "Petition “Frieden”\r\nBcc: everyone@example.org")
    }

    @Test("the cover letter escapes everything and states the totals")
    func coverLetter() throws {
        let record = DeliveryRecord(
            id: 7, targetID: 1, target: "un", transport: .files, trigger: "milestone:1000", full: false, afterID: 0, throughID: 99,
            state: .pending, attempts: 0, createdAt: Date(timeIntervalSince1970: 1_796_000_000.125), giveUpAt: Date())
        let target = DeliveryTarget(
            id: 1, petitionID: 1, petition: "p", name: "un", title: "<script>alert(1)</script>", kind: "un-body", countries: nil,
            transport: .files, address: "/tmp", triggers: [.milestone], active: true, createdAt: Date())
        let petition = Petition(id: 1, slug: "p", title: "Peace & Quiet", body: "First <b>line</b>.\nSecond.", status: .open, closesAt: nil,
                                milestones: [], createdAt: Date())
        let summary = PackageSummary(
            signatures: 1_234_567, countsByCountry: ["DE": 1_000_000, "KE": 234_567], firstSignedAt: Date(timeIntervalSince1970: 0),
            lastSignedAt: Date(timeIntervalSince1970: 86_400 * 3), firstID: 1, lastID: 99, csvSHA256: String(repeating: "a", count: 64), csvBytes: 10)
        let manifest = DeliveryManifest(delivery: record, target: target, petition: petition, summary: summary)
        let html = CoverLetter(manifest: manifest, petitionText: petition.body).html()
        #expect(!html.contains("<script>") && html.contains("&lt;script&gt;"))
        #expect(html.contains("Peace &amp; Quiet") && html.contains("<p>First &lt;b&gt;line&lt;/b&gt;.</p>"))
        #expect(html.contains("1,234,567 signatures") && html.contains("1,000,000") && html.contains("1970-01-01 and 1970-01-04"))
        let decoded = try DeliveryManifest.decode(manifest.encoded())
        #expect(decoded == manifest && decoded.summary == summary)
        #expect(String(decoding: try manifest.encoded(), as: UTF8.self).contains("\"counts_by_country\""))
    }
}
