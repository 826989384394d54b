import Foundation
import Models
import Testing

@Suite("Envelope contract")
struct EnvelopeTests {
    static func signature(_ n: Int = 0, email: String = "ada@example.org") -> Signature {
        Signature(
            submissionID: UUID(), petition: "digital-peace-now", name: "Ada \(n)", email: email, country: "gb",
            postalCode: "sw1a 1aa", contactOptIn: true, source: "web",
            signedAt: Date(timeIntervalSince1970: 1_790_000_000.123))
    }

    @Test func roundTrips() throws {
        let envelope = Envelope(signatures: [Self.signature(1), Self.signature(2)])
        let body = WireCodec.encode(envelope)
        let decoded = try WireCodec.decode(Envelope.self, from: body).get()
        #expect(decoded.envelopeID == envelope.envelopeID)
        #expect(decoded.signatures.count == 2)
        #expect(decoded.signatures[0].submissionID == envelope.signatures[0].submissionID)
        #expect(decoded.signatures[0].country == "GB")  // normalised on the way in
        #expect(decoded.signatures[0].postalCode == "SW1A 1AA")
        #expect(abs(decoded.signatures[0].signedAt.timeIntervalSince1970 - 1_790_000_000.123) < 0.001)
        #expect(decoded.rejected.isEmpty)
    }

    @Test func refusesAnotherVersion() throws {
        var object = try JSONSerialization.jsonObject(with: Data(WireCodec.encode(Envelope(signatures: [Self.signature()])))) as! [String: Any]
        object["version"] = 2
        let body = Array(try JSONSerialization.data(withJSONObject: object))
        #expect(WireCodec.decode(Envelope.self, from: body) == .failure(.unsupportedVersion(schema: "undersigned.envelope", found: 2, supported: 1)))
        object.removeValue(forKey: "version")
        let noVersion = Array(try JSONSerialization.data(withJSONObject: object))
        #expect(WireCodec.decode(Envelope.self, from: noVersion) == .failure(.unsupportedVersion(schema: "undersigned.envelope", found: nil, supported: 1)))
    }

    @Test func refusesOtherSchemasAndNonJSON() {
        #expect(WireCodec.decode(Envelope.self, from: Array("not json".utf8)) == .failure(.notJSON))
        #expect(WireCodec.decode(Envelope.self, from: Array("[1,2]".utf8)) == .failure(.notJSON))
        let accepted = WireCodec.encode(SignaturesAccepted(events: []))
        #expect(WireCodec.decode(Envelope.self, from: accepted) == .failure(.wrongSchema(expected: "undersigned.envelope", found: "undersigned.signatures-accepted")))
    }

    @Test func refusesEmptyAndOversizedEnvelopes() throws {
        let empty = Array(#"{"schema":"undersigned.envelope","version":1,"envelope_id":"4b1c8f0e-6a39-4c1f-9a57-0a4b2f4d9c11","signatures":[]}"#.utf8)
        guard case .failure(.invalid(let path, _)) = WireCodec.decode(Envelope.self, from: empty) else {
            Issue.record("an empty envelope was accepted")
            return
        }
        #expect(path == "signatures")
        let big = Envelope(signatures: (0...Envelope.maximumSignatures).map { Self.signature($0) })
        #expect(throws: WireDecodingProblem.self) { try WireCodec.decode(Envelope.self, from: WireCodec.encode(big)).get() }
    }

    @Test("an envelope over 2 MiB is refused before it is parsed; a wide one within it is refused by the reader's value bound")
    func refusesHugeAndWideEnvelopes() {
        let huge = Array(#"{"schema":"undersigned.envelope","version":1,"envelope_id":"5d7c2a10-8e0b-4b1e-a3f4-1c2d3e4f5a61","signatures":["#.utf8)
            + Array(repeating: UInt8(ascii: "1"), count: 3 << 20) + Array("]}".utf8)
        #expect(Envelope.decode(wire: huge) == .failure(.tooLarge(bytes: huge.count, maximum: Envelope.maximumBytes)))
        #expect(WireDecodingProblem.tooLarge(bytes: 1, maximum: 0).code == "too_large")
        let wide = Array(#"{"schema":"undersigned.envelope","version":1,"envelope_id":"5d7c2a10-8e0b-4b1e-a3f4-1c2d3e4f5a61","signatures":[{"x":["#.utf8)
            + Array(repeating: Array("0,".utf8), count: 300_000).joined() + Array("0]}]}".utf8)
        #expect(wide.count < Envelope.maximumBytes)
        #expect(Envelope.decode(wire: wide) == .failure(.notJSON))
        let deep = "[" + String(repeating: "[", count: 100) + String(repeating: "]", count: 101)
        #expect(JSONReader.parse(Array(deep.utf8)) == nil, "depth is bounded")
    }

    @Test("bad signatures are reported by index; the good ones are kept")
    func keepsGoodSignatures() throws {
        var object = try JSONSerialization.jsonObject(with: Data(WireCodec.encode(Envelope(signatures: [
            Self.signature(0), Self.signature(1), Self.signature(2), Self.signature(3),
        ])))) as! [String: Any]
        var signatures = object["signatures"] as! [[String: Any]]
        signatures[1]["email"] = "not-an-address"
        signatures[2]["country"] = "XX"
        signatures[3].removeValue(forKey: "name")
        object["signatures"] = signatures
        let decoded = try WireCodec.decode(Envelope.self, from: Array(try JSONSerialization.data(withJSONObject: object))).get()
        #expect(decoded.signatures.count == 1)
        #expect(decoded.rejected.map(\.index) == [1, 2, 3])
        #expect(decoded.rejected.map(\.problem.field) == ["email", "country", "name"])
    }

    @Test("the published JSON Schema matches what the code writes")
    func schemaFileMatchesTheEncoder() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Shared/Models/Schemas/envelope.v1.schema.json")
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let properties = schema["properties"] as! [String: Any]
        let signatureSchema = (schema["$defs"] as! [String: Any])["signature"] as! [String: Any]
        let signatureProperties = signatureSchema["properties"] as! [String: Any]
        var full = Self.signature()
        (full.language, full.textVersion) = ("fr", 7)  // the optional fields too
        let encoded = try JSONSerialization.jsonObject(with: Data(WireCodec.encode(Envelope(signatures: [full])))) as! [String: Any]
        #expect(Set(encoded.keys).isSubset(of: Set(properties.keys)))
        #expect(Set(schema["required"] as! [String]).isSubset(of: Set(encoded.keys)))
        let encodedSignature = (encoded["signatures"] as! [[String: Any]])[0]
        // Every field the code writes is in the schema; the schema has one more: the OSDI `person` a partner may send instead.
        #expect(Set(encodedSignature.keys) == Set(signatureProperties.keys).subtracting(["person"]))
        #expect(Set(signatureSchema["required"] as! [String]).isSubset(of: Set(encodedSignature.keys)))
        #expect((properties["schema"] as! [String: Any])["const"] as? String == Envelope.schema)
        let decoded = try WireCodec.decode(Envelope.self, from: WireCodec.encode(Envelope(signatures: [full]))).get()
        #expect(decoded.signatures.first?.language == "fr" && decoded.signatures.first?.textVersion == 7, "the optional fields round-trip")
        #expect((properties["version"] as! [String: Any])["const"] as? Int == Envelope.version)
        let items = (properties["signatures"] as! [String: Any])
        #expect(items["maxItems"] as? Int == Envelope.maximumSignatures)
    }

    @Test("a signature in the OSDI person shape reads like the flat one")
    func osdiPerson() throws {
        let body = """
            {"schema":"undersigned.envelope","version":1,"envelope_id":"0b5f3c9e-3f4a-4c8e-9d2a-6a1e7b9c0d11","signatures":[
             {"submission_id":"5d7c2a10-8e0b-4b1e-a3f4-1c2d3e4f5a61","petition":"digital-peace-now","source":"paper",
              "signed_at":"2026-11-28T18:30:00Z","person":{"given_name":"Wangari","family_name":"Maathai",
              "email_addresses":[{"address":"other@example.org"},{"address":"wangari@example.org","primary":true}],
              "postal_addresses":[{"country":"ke","postal_code":"00100"}]}}]}
            """
        let envelope = try WireCodec.decode(Envelope.self, from: Array(body.utf8)).get()
        #expect(envelope.rejected.isEmpty)
        let signature = try #require(envelope.signatures.first)
        #expect(signature.name == "Wangari Maathai")
        #expect(signature.email == "wangari@example.org")
        #expect(signature.country == "KE")
        #expect(signature.postalCode == "00100")
    }
}

@Suite("Signature validation")
struct SignatureValidationTests {
    @Test("each bad field is named", arguments: [
        ("name", ""), ("name", String(repeating: "n", count: 201)), ("name", "Ada\u{0007}"),
        ("email", "nope"), ("country", "ZZ"), ("country", "France"), ("postal_code", "<script>"),
        ("source", "Web Form!"), ("petition", "Not A Slug"),
    ])
    func namesTheField(field: String, value: String) {
        var signature = EnvelopeTests.signature()
        switch field {
        case "name": signature.name = value
        case "email": signature.email = value
        case "country": signature.country = value
        case "postal_code": signature.postalCode = value
        case "source": signature.source = value
        default: signature.petition = value
        }
        #expect(throws: ValidationProblem.self) { try signature.validated() }
        do { _ = try signature.validated() } catch { #expect(error.field == field) }
    }

    @Test func countryListIsComplete() throws {
        #expect(Country.assigned.count == 249)
        #expect(try Country(" ke ").code == "KE")
    }
}

@Suite("SignaturesAccepted contract")
struct SignaturesAcceptedTests {
    static let event = SignatureAccepted(
        signatureID: 42, submissionID: UUID(), petition: "digital-peace-now", country: "GB", source: "web",
        signedAt: Date(timeIntervalSince1970: 1_790_000_000.123), acceptedAt: Date(timeIntervalSince1970: 1_790_000_001.5))

    @Test func roundTrips() throws {
        let decoded = try WireCodec.decode(SignaturesAccepted.self, from: WireCodec.encode(SignaturesAccepted(events: [Self.event, Self.event]))).get()
        #expect(decoded.events.count == 2)
        #expect(decoded.events[0].signatureID == 42 && decoded.events[0].submissionID == Self.event.submissionID)
        #expect(abs(decoded.events[0].acceptedAt.timeIntervalSince1970 - 1_790_000_001.5) < 0.001)
    }

    @Test("a bad event names its path", arguments: [
        ("signature_id", "\"x\"", "events[0].signature_id"), ("submission_id", "\"nope\"", "events[0].submission_id"),
        ("country", "7", "events[0].country"), ("accepted_at", "\"yesterday\"", "events[0].accepted_at"),
    ])
    func namesThePath(key: String, value: String, path: String) throws {
        var object = try JSONSerialization.jsonObject(with: Data(WireCodec.encode(SignaturesAccepted(events: [Self.event])))) as! [String: Any]
        var events = object["events"] as! [[String: Any]]
        events[0][key] = try JSONSerialization.jsonObject(with: Data(value.utf8), options: [.fragmentsAllowed])
        object["events"] = events
        let body = Array(try JSONSerialization.data(withJSONObject: object))
        guard case .failure(.invalid(let found, _)) = WireCodec.decode(SignaturesAccepted.self, from: body) else {
            Issue.record("a bad \(key) was accepted")
            return
        }
        #expect(found == path)
    }
}
