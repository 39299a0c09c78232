import Foundation
import Postgres
import Testing
import TestSupport

/// Pipeline mode against the test database: several statements per round
/// trip, per-statement errors, and the session usable afterwards.
@Suite(.serialized)
struct PostgresPipelineTests {
    /// A scratch schema with one table, on one session: what one pipeline
    /// leaves behind is what the next statement finds.
    func withTable<T: Sendable>(_ body: (PostgresClient, String) async throws -> T) async throws -> T {
        try await PostgresClientTests().withClient(maxConnections: 1) { client, schema in
            let table = "\(schema).items"
            try await client.withConnection {
                try await $0.executeScript(unsafeSQL: "CREATE TABLE \(table) (id bigint PRIMARY KEY, name text NOT NULL)")
            }
            return try await body(client, table)
        }
    }

    @Test func severalStatementsReturnTheirOwnResultsInOrder() async throws {
        try await withTable { client, table in
            let rows = try await client.withConnection { connection in
                try await connection.pipeline { p in
                    p.append("INSERT INTO \(unsafeSQL: table) VALUES (\(1), \("one")), (\(2), \("two"))")
                    p.append("UPDATE \(unsafeSQL: table) SET name = \("deux") WHERE id = \(2)")
                    p.append("SELECT id, name FROM \(unsafeSQL: table) ORDER BY id")
                    // The same text twice: prepared once, bound twice.
                    p.append("SELECT name FROM \(unsafeSQL: table) WHERE id = \(Int64(1))")
                    p.append("SELECT name FROM \(unsafeSQL: table) WHERE id = \(Int64(2))")
                }
            }
            #expect(rows.count == 5)
            #expect(rows[0].affectedRows == 2)
            #expect(rows[1].affectedRows == 1)
            #expect(try rows[2].map { try $0.decode("name", as: String.self) } == ["one", "deux"])
            #expect(try rows[3].first?.decode("name", as: String.self) == "one")
            #expect(try rows[4].first?.decode("name", as: String.self) == "deux")
            // The statements prepared in the pipeline serve later ordinary calls too.
            let again = try await client.query("SELECT name FROM \(unsafeSQL: table) WHERE id = \(Int64(2))")
            #expect(try again.first?.decode("name", as: String.self) == "deux")
            #expect(try await client.withConnection { try await $0.pipeline([]) }.isEmpty)
        }
    }

    @Test func anErrorInTheMiddleSkipsTheRestAndLeavesTheSessionUsable() async throws {
        try await withTable { client, table in
            let outcomes = try await client.withConnection { connection in
                try await connection.pipelineResults([
                    "INSERT INTO \(unsafeSQL: table) VALUES (\(1), \("one"))",
                    "INSERT INTO \(unsafeSQL: table) VALUES (\(1), \("again"))",  // duplicate key
                    "INSERT INTO \(unsafeSQL: table) VALUES (\(3), \("three"))",
                    "SELECT count(*) AS n FROM \(unsafeSQL: table)",
                ])
            }
            #expect(outcomes.count == 4)
            #expect((try? outcomes[0].get())?.affectedRows == 1)
            guard case .failure(let duplicate) = outcomes[1] else { Issue.record("the duplicate was accepted"); return }
            #expect(duplicate.isUniqueViolation)
            #expect(duplicate.statementIndex == 1)
            for index in 2...3 {
                guard case .failure(let skipped) = outcomes[index] else { Issue.record("statement \(index) ran"); continue }
                #expect(skipped.code == .pipelineAborted)
                #expect(skipped.statementIndex == index)
            }
            // No transaction was open: the pipeline was one implicit transaction, so the first insert is gone too.
            #expect(try await client.query("SELECT count(*) AS n FROM \(unsafeSQL: table)")[0].decode("n", as: Int64.self) == 0)

            // The throwing form reports the failing statement, and a syntax error
            // (a failed prepare) is reported the same way.
            await #expect(throws: PostgresError.self) {
                try await client.withConnection { connection in
                    try await connection.pipeline(["SELECT 1", "SELEC nonsense", "SELECT 2"])
                }
            }
            do {
                _ = try await client.withConnection { try await $0.pipeline(["SELECT 1", "SELEC nonsense"]) }
            } catch let error as PostgresError {
                #expect(error.statementIndex == 1)
                #expect(error.sqlState == "42601")
            }
            // Same session (the pool has one): still fine for pipelines and ordinary statements.
            let rows = try await client.withConnection { connection in
                try await connection.pipeline([
                    "INSERT INTO \(unsafeSQL: table) VALUES (\(5), \("five"))",
                    "SELECT count(*) AS n FROM \(unsafeSQL: table)",
                ])
            }
            #expect(try rows[1][0].decode("n", as: Int64.self) == 1)
            #expect(try await client.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
        }
    }

    @Test func insideATransactionItsStatementsCommitOrRollBackWithIt() async throws {
        try await withTable { client, table in
            try await client.withTransaction { connection in
                try await connection.execute("INSERT INTO \(unsafeSQL: table) VALUES (\(1), \("before"))")
                try await connection.pipeline([
                    "INSERT INTO \(unsafeSQL: table) VALUES (\(2), \("two"))",
                    "UPDATE \(unsafeSQL: table) SET name = \("changed") WHERE id = \(1)",
                ])
                // Later statements of the transaction see what the pipeline did.
                #expect(try await connection.query("SELECT name FROM \(unsafeSQL: table) WHERE id = \(1)")[0].decode("name", as: String.self) == "changed")
            }
            #expect(try await client.query("SELECT count(*) AS n FROM \(unsafeSQL: table)")[0].decode("n", as: Int64.self) == 2)

            // A failure inside the pipeline fails the transaction: nothing of it stays.
            await #expect(throws: PostgresError.self) {
                try await client.withTransaction { connection in
                    try await connection.execute("INSERT INTO \(unsafeSQL: table) VALUES (\(3), \("three"))")
                    try await connection.pipeline([
                        "INSERT INTO \(unsafeSQL: table) VALUES (\(4), \("four"))",
                        "INSERT INTO \(unsafeSQL: table) VALUES (\(1), \("duplicate"))",
                    ])
                }
            }
            #expect(try await client.query("SELECT count(*) AS n FROM \(unsafeSQL: table)")[0].decode("n", as: Int64.self) == 2)
        }
    }

    @Test func copyIsRefusedBeforeAnythingIsSent() async throws {
        try await withTable { client, table in
            do {
                _ = try await client.withConnection { connection in
                    try await connection.pipeline([
                        "INSERT INTO \(unsafeSQL: table) VALUES (\(1), \("one"))",
                        PostgresQuery(unsafeSQL: "COPY \(table) FROM STDIN"),
                    ])
                }
                Issue.record("COPY was pipelined")
            } catch let error as PostgresError {
                #expect(error.code == .client)
                #expect(error.statementIndex == 1)
            }
            #expect(try await client.query("SELECT count(*) AS n FROM \(unsafeSQL: table)")[0].decode("n", as: Int64.self) == 0)
        }
    }

    @Test func aLongPipelineDoesNotStall() async throws {
        try await withTable { client, table in
            // Enough statements and reply bytes to fill socket buffers both ways.
            let queries: [PostgresQuery] = (0..<5_000).map { index in
                "INSERT INTO \(unsafeSQL: table) VALUES (\(index), \(String(repeating: "x", count: 200))) RETURNING name"
            }
            let rows = try await client.withConnection { try await $0.pipeline(queries) }
            #expect(rows.count == 5_000)
            #expect(rows.allSatisfy { $0.count == 1 })
        }
    }
}
