import Foundation
import Postgres
import Testing

/// Pure: no database needed.
struct PostgresValueTests {
    @Test func interpolationBindsValuesAndNeverInlinesThem() {
        let name = "x'; DROP TABLE cases; --"
        let limit = 5
        let query: PostgresQuery = "SELECT * FROM cases WHERE name = \(name) LIMIT \(limit)"
        #expect(query.sql == "SELECT * FROM cases WHERE name = $1 LIMIT $2")
        #expect(query.binds.count == 2)
        #expect(query.binds[0].bytes == Array(name.utf8))
    }

    @Test func nestedQueriesAreRenumbered() {
        let filter: PostgresQuery = "status = \("open") AND kind = \("pil")"
        let query: PostgresQuery = "SELECT 1 WHERE id = \(7) AND \(filter)"
        #expect(query.sql == "SELECT 1 WHERE id = $1 AND status = $2 AND kind = $3")
        #expect(query.binds.count == 3)
    }

    @Test func timestampsParseEveryOffsetStyle() throws {
        let utc = try Date(postgresText: "2024-10-01 08:00:00.5+00")
        #expect(utc.timeIntervalSince1970 == 1_727_769_600.5)
        let shanghai = try Date(postgresText: "2024-10-01 16:00:00+08")
        #expect(shanghai.timeIntervalSince1970 == 1_727_769_600)
        let withMinutes = try Date(postgresText: "2024-10-01 13:30:00+05:30")
        #expect(withMinutes.timeIntervalSince1970 == 1_727_769_600)
        #expect(throws: PostgresError.self) { try Date(postgresText: "infinity") }
    }
}
