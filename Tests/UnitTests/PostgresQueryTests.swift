import Foundation
import Postgres
import Testing

@Suite("SQL with bind parameters")
struct PostgresQueryTests {
    @Test func interpolationBecomesParameters() {
        let slug = "x'; DROP TABLE petitions; --"
        let limit = 5
        let query: PostgresQuery = "SELECT * FROM petitions WHERE slug = \(slug) LIMIT \(limit)"
        #expect(query.sql == "SELECT * FROM petitions WHERE slug = $1 LIMIT $2")
        #expect(query.parameters == [slug, "5"])
        #expect(query.description == query.sql)  // parameters (personal data) never print
    }

    @Test func arraysBecomeArrayLiterals() {
        let names = ["Ada", "O\"Brien", "back\\slash", "Zoë, Jr.", "{braces}"]
        #expect(names.postgresText == #"{"Ada","O\"Brien","back\\slash","Zoë, Jr.","{braces}"}"#)
        let optional: [String?] = ["a", nil]
        #expect(optional.postgresText == #"{"a",NULL}"#)
        #expect([Int64]().postgresText == "{}")
    }

    @Test func byteaRoundTrips() {
        let bytes: [UInt8] = [0, 1, 0x7f, 0x80, 0xff]
        #expect(ByteA(bytes).postgresText == "\\x00017f80ff")
        #expect(ByteA(postgresText: "\\x00017F80ff")?.bytes == bytes)
        #expect(ByteA(postgresText: "00") == nil)
    }

    @Test func timestampsReadAsThePrintedServerFormat() throws {
        let date = try #require(Date(postgresText: "2026-11-29 14:03:07.412345+00"))
        #expect(abs(date.timeIntervalSince1970 - 1_795_960_987.412345) < 0.001)
        #expect(Date(postgresText: "2026-11-29 14:03:07+00") != nil)
    }

    @Test func retryableErrors() {
        #expect(PostgresError(code: .connection, message: "").isRetryable)
        #expect(PostgresError(code: .server, sqlState: "40001", message: "").isRetryable)
        #expect(PostgresError(code: .server, sqlState: "57P01", message: "").isRetryable)
        #expect(!PostgresError(code: .server, sqlState: "23505", message: "").isRetryable)
        #expect(!PostgresError(code: .server, sqlState: "42601", message: "").isRetryable)
    }
}
