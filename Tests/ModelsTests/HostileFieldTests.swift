import Foundation
import Testing

@testable import Models

/// Fields a careless or hostile sender writes: each is refused with its field named, or taken when a
/// real person could have written it.
@Suite("Hostile fields")
struct HostileFieldTests {
    @Test("a name of one letter and 4,000 combining marks is refused; so is one character of 20 marks")
    func combiningMarks() {
        let marks = "a" + String(repeating: "\u{0301}", count: 4_000)
        #expect(throws: ValidationProblem.self) { try Signature.validateName(marks) }
        #expect(throws: ValidationProblem.self) { try Signature.validateName("Zoe" + String(repeating: "\u{0336}", count: 20)) }
    }

    @Test("names people have are taken: 200 Devanagari characters, an emoji family with skin tones, Vietnamese")
    func realNames() throws {
        _ = try Signature.validateName(String(repeating: "क्षि", count: 50))
        _ = try Signature.validateName("Ana 👩🏽‍👩🏾‍👧🏿‍👦🏻")
        _ = try Signature.validateName("Nguyễn Thị Minh Khai")
    }

    @Test("an address with a control or invisible character in its mailbox name is refused", arguments: [
        "jane\u{0}@example.org", "ja\u{7F}ne@example.org", "ja\u{85}ne@example.org", "ja\u{200B}ne@example.org", "ja\u{202E}ne@example.org",
    ])
    func controlCharacters(_ address: String) {
        #expect(throws: ValidationProblem.self) { try CanonicalEmail(address) }
    }

    @Test("a CSV field a spreadsheet would run as a formula is written as text")
    func spreadsheetFormulas() {
        #expect(SpreadsheetCSV.field("=HYPERLINK(\"http://evil\")") == "\"'=HYPERLINK(\"\"http://evil\"\")\"")
        #expect(SpreadsheetCSV.field("@SUM(A1)") == "\"'@SUM(A1)\"" && SpreadsheetCSV.field("-2+3") == "\"'-2+3\"")
        #expect(SpreadsheetCSV.field("Ada \"Countess\" Lovelace") == "\"Ada \"\"Countess\"\" Lovelace\"")
    }
}
