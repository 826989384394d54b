@testable import Intake
import Foundation
import Models
import Testing

/// A fuzz run of the decoders that take input from outside: intake's JSON and form readers and dedup's
/// envelope decoder. Valid inputs are mutated (bytes flipped, cut, inserted, repeated; fields set to odd
/// values; deep nesting) with a fixed seed; every input must be taken or refused with a typed problem,
/// never crash. The number of inputs is printed (CI runs the small size; FUZZ_INPUTS=1000000 for more).
@Suite("Fuzzing the decoders")
struct DecoderFuzzTests {
    static let inputs = ProcessInfo.processInfo.environment["FUZZ_INPUTS"].flatMap(Int.init) ?? 20_000

    static let oddValues: [String] = [
        "null", "true", "1e999", "-0", "18446744073709551616", "\"\"", "\"\\u0000\"", "\"\\ud800\"", "[]", "{}",
        "\"" + String(repeating: "a", count: 5000) + "\"", "\"Zoë \\u200b\\u202e\"", "\"a@b\"", "\"ZZ\"", "\"\\n\\r\\t\"",
        String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
    ]

    static func mutate(_ seed: [UInt8], _ random: inout SplitMix) -> [UInt8] {
        var bytes = seed
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            switch Int.random(in: 0..<7, using: &random) {
            case 0 where !bytes.isEmpty: bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            case 1 where !bytes.isEmpty: bytes.removeSubrange(Int.random(in: 0..<bytes.count, using: &random)...)
            case 2: bytes.insert(UInt8.random(in: 0...255, using: &random), at: Int.random(in: 0...bytes.count, using: &random))
            case 3 where bytes.count > 2:
                let start = Int.random(in: 0..<bytes.count - 1, using: &random)
                bytes.insert(contentsOf: bytes[start..<min(bytes.count, start + 16)], at: start)
            case 4:
                // A value replaced by an odd one: after a colon, up to the next comma or brace.
                if let colon = bytes.indices.filter({ bytes[$0] == UInt8(ascii: ":") }).randomElement(using: &random),
                   let end = bytes[(colon + 1)...].firstIndex(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "}") }) {
                    bytes.replaceSubrange((colon + 1)..<end, with: Array(oddValues.randomElement(using: &random)!.utf8))
                }
            case 5: bytes = Array(bytes.prefix(Int.random(in: 0...max(0, bytes.count), using: &random)))
            default: bytes.append(contentsOf: Array(oddValues.randomElement(using: &random)!.utf8))
            }
        }
        return bytes
    }

    @Test("intake's JSON and form decoders: every input taken or refused with a ValidationProblem")
    func intakeDecoders() {
        var random = SplitMix(seed: 20_261_129)
        let json = Array(#"{"name":"Ada Lovelace","email":"ada@example.org","country":"GB","postal_code":"NW1 6XE","contact_opt_in":true}"#.utf8)
        let form = Array("name=Ada+Lovelace&email=ada%40example.org&country=GB&postal_code=NW1+6XE&contact_opt_in=on".utf8)
        var taken = 0, refused = 0
        for index in 0..<Self.inputs {
            let input = Self.mutate(index % 2 == 0 ? json : form, &random)
            do {
                let request = index % 2 == 0 ? try SignatureRequest(json: input) : SignatureRequest(form: input)
                _ = try request.signature(petition: "digital-peace-now")
                taken += 1
            } catch {
                #expect(!error.field.isEmpty && !error.reason.isEmpty)
                refused += 1
            }
        }
        print("fuzz: intake decoders, \(Self.inputs) inputs: \(taken) taken, \(refused) refused with a named field")
        #expect(taken + refused == Self.inputs && refused > 0 && taken > 0)
    }

    @Test("the envelope decoder: every input decoded or refused with a problem (a dead letter's reason)")
    func envelopeDecoder() {
        var random = SplitMix(seed: 29_112_026)
        let signature = Signature(
            submissionID: UUID(), petition: "digital-peace-now", name: "Ada Lovelace", email: "ada@example.org", country: "GB",
            postalCode: "NW1 6XE", contactOptIn: true, source: "web", signedAt: Date())
        let seed = Envelope(signatures: [signature, signature]).wireBytes()
        var taken = 0, refused = 0
        for _ in 0..<Self.inputs {
            switch WireCodec.decode(Envelope.self, from: Self.mutate(seed, &random)) {
            case .success: taken += 1
            case .failure(let problem):
                #expect(!problem.code.isEmpty && !problem.description.isEmpty)
                refused += 1
            }
        }
        print("fuzz: envelope decoder, \(Self.inputs) inputs: \(taken) decoded, \(refused) refused with a reason")
        #expect(taken + refused == Self.inputs && refused > 0)
    }
}
