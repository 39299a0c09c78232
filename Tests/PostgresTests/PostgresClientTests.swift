import Foundation
import Logging
import Postgres
import Testing
import TestSupport

/// Against the real PostgreSQL started by `make test`. Each test works in its
/// own schema, dropped at the end.
@Suite(.serialized)
struct PostgresClientTests {
    let logger = Logger(label: "test.postgres")

    func withClient<T: Sendable>(
        maxConnections: Int = 4,
        acquireTimeoutMilliseconds: Int = 10_000,
        transactionAttempts: Int = 5,
        _ body: (PostgresClient, String) async throws -> T
    ) async throws -> T {
        var configuration = PostgresConfiguration(connectionString: TestEnvironment.databaseURL)
        configuration.maxConnections = maxConnections
        configuration.acquireTimeoutMilliseconds = acquireTimeoutMilliseconds
        configuration.transactionAttempts = transactionAttempts
        let client = PostgresClient(configuration: configuration, logger: logger)
        let schema = TestEnvironment.uniqueName("t").replacingOccurrences(of: "-", with: "_")
        try await client.withConnection { try await $0.executeScript(unsafeSQL: "CREATE SCHEMA \(schema)") }
        do {
            let result = try await body(client, schema)
            try await client.withConnection { try await $0.executeScript(unsafeSQL: "DROP SCHEMA \(schema) CASCADE") }
            await client.shutdown()
            return result
        } catch {
            try? await client.withConnection { try await $0.executeScript(unsafeSQL: "DROP SCHEMA \(schema) CASCADE") }
            await client.shutdown()
            throw error
        }
    }

    /// The same connection string as another user, in keyword and in URI form:
    /// the user given last wins over the one in the string.
    @Test func aConnectionStringForAnotherUser() async throws {
        let keywords = TestEnvironment.databaseURL + " user=nobody_at_all"
        let port = try #require(TestEnvironment.databaseURL.split(separator: " ").last { $0.hasPrefix("port=") }?.dropFirst(5))
        let uri = "postgresql://nobody_at_all@127.0.0.1:\(port)/postgres?connect_timeout=5"
        let superuser = try await withClient { client, _ in
            try await client.query("SELECT current_user::text AS name")[0].decode("name", as: String.self)
        }
        for base in [keywords, uri] {
            let client = PostgresClient(configuration: PostgresConfiguration(
                connectionString: PostgresConfiguration.connectionString(base, user: superuser)), logger: logger)
            #expect(try await client.query("SELECT current_user::text AS name")[0].decode("name", as: String.self) == superuser, "\(base)")
            await client.shutdown()
        }
        #expect(PostgresConfiguration.connectionString("", user: "o'brien") == #"user='o\'brien'"#)
        #expect(PostgresConfiguration.connectionString("postgres://h/db?sslmode=require", user: "a b") == "postgres://h/db?sslmode=require&user=a%20b")
    }

    @Test func everySupportedTypeRoundTrips() async throws {
        try await withClient { client, schema in
            try await client.withConnection { connection in
                try await connection.executeScript(unsafeSQL: """
                    CREATE TABLE \(schema).v (
                        t text, i8 bigint, i4 integer, b boolean, f float8, by bytea, u uuid,
                        ts timestamptz, j jsonb)
                    """)
            }
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let id = UUID()
            let when = Date(timeIntervalSince1970: 1_727_769_600.123456) // 2024-10-01 08:00:00.123456 UTC
            let text = "（2023）湘02行终23号 — 'quotes' \"and\" \\ back\tslash\n换行"
            try await client.execute("""
                INSERT INTO \(unsafeSQL: schema).v VALUES (
                    \(text), \(Int64.max), \(Int32.min), \(true), \(2.5), \(bytes), \(id), \(when), \(PostgresJSON("{\"案\": [1, 2]}")))
                """)
            try await client.execute("""
                INSERT INTO \(unsafeSQL: schema).v VALUES (
                    \(String?.none), \(Int64?.none), \(Int32?.none), \(Bool?.none), \(Double?.none), \([UInt8]?.none), \(UUID?.none), \(Date?.none), \(PostgresJSON?.none))
                """)
            let rows = try await client.query("SELECT * FROM \(unsafeSQL: schema).v ORDER BY t NULLS LAST")
            #expect(rows.count == 2)
            let row = rows[0]
            #expect(try row.decode("t", as: String.self) == text)
            #expect(try row.decode("i8", as: Int64.self) == Int64.max)
            #expect(try row.decode("i4", as: Int32.self) == Int32.min)
            #expect(try row.decode("b", as: Bool.self) == true)
            #expect(try row.decode("f", as: Double.self) == 2.5)
            #expect(try row.decode("by", as: [UInt8].self) == bytes)
            #expect(try row.decode("u", as: UUID.self) == id)
            #expect(try row.decode("ts", as: Date.self) == when)
            #expect(try row.decode("j", as: PostgresJSON.self).text == "{\"案\": [1, 2]}")
            let nulls = rows[1]
            for column in ["t", "i8", "i4", "b", "f", "by", "u", "ts", "j"] {
                #expect(try nulls.decode(column, as: String?.self) == nil)
            }
            #expect(throws: PostgresError.self) { try nulls.decode("t", as: String.self) }
        }
    }

    @Test func arraysBindForAnyAndUnnest() async throws {
        try await withClient { client, schema in
            try await client.execute("CREATE TABLE \(unsafeSQL: schema).a (k text, n bigint)")
            let keys: [String?] = ["a", "b,c", "d\"e", "f\\g", "湘"]
            let numbers: [Int64?] = [1, 2, 3, 4, 5]
            let inserted = try await client.execute(
                "INSERT INTO \(unsafeSQL: schema).a SELECT * FROM unnest(\(PostgresArray(keys))::text[], \(PostgresArray(numbers))::bigint[])")
            #expect(inserted == 5)
            let rows = try await client.query("SELECT k FROM \(unsafeSQL: schema).a WHERE k = ANY(\(PostgresArray(["b,c", "湘"]))) ORDER BY n")
            #expect(try rows.map { try $0.decode(0, as: String.self) } == ["b,c", "湘"])
        }
    }

    @Test func copyLoadsManyRows() async throws {
        try await withClient { client, schema in
            try await client.execute("CREATE TABLE \(unsafeSQL: schema).c (id bigint, note text, data bytea)")
            var rows: [[(any PostgresEncodable)?]] = []
            for index in 0..<5_000 {
                let note: String? = index % 10 == 0 ? nil : "line\t\(index)\n\\ 号"
                let data: [UInt8] = [UInt8(index % 256), 0]
                rows.append([Int64(index), note, data])
            }
            let count = try await client.withConnection { connection in
                try await connection.executeScript(unsafeSQL: "SET search_path TO \(schema)")
                let count = try await connection.copy(into: "c", columns: ["id", "note", "data"], rows: rows)
                try await connection.executeScript(unsafeSQL: "RESET search_path")
                return count
            }
            #expect(count == 5_000)
            let check = try await client.query("SELECT count(*), count(note), max(id) FROM \(unsafeSQL: schema).c")
            #expect(try check[0].decode(0, as: Int.self) == 5_000)
            #expect(try check[0].decode(1, as: Int.self) == 4_500)
            let sample = try await client.query("SELECT note, data FROM \(unsafeSQL: schema).c WHERE id = \(Int64(7))")
            #expect(try sample[0].decode("note", as: String.self) == "line\t7\n\\ 号")
            #expect(try sample[0].decode("data", as: [UInt8].self) == [7, 0])
        }
    }

    @Test func transactionRollsBackOnThrow() async throws {
        struct Abort: Error {}
        try await withClient { client, schema in
            try await client.execute("CREATE TABLE \(unsafeSQL: schema).r (id int)")
            await #expect(throws: Abort.self) {
                try await client.withTransaction { connection in
                    try await connection.execute("INSERT INTO \(unsafeSQL: schema).r VALUES (1)")
                    throw Abort()
                }
            }
            try await client.withTransaction { try await $0.execute("INSERT INTO \(unsafeSQL: schema).r VALUES (2)") }
            let rows = try await client.query("SELECT id FROM \(unsafeSQL: schema).r")
            #expect(try rows.map { try $0.decode(0, as: Int.self) } == [2])
        }
    }

    @Test func serializationFailureRetriesTheTransaction() async throws {
        // Eight contenders: each round lets one win, so allow enough attempts.
        try await withClient(transactionAttempts: 30) { client, schema in
            try await client.execute("CREATE TABLE \(unsafeSQL: schema).counter (n int)")
            try await client.execute("INSERT INTO \(unsafeSQL: schema).counter VALUES (0)")
            // Concurrent serializable increments conflict; retries make every one count.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await client.withTransaction(isolation: .serializable) { connection in
                            let rows = try await connection.query("SELECT n FROM \(unsafeSQL: schema).counter")
                            let n = try rows[0].decode(0, as: Int.self)
                            try await Task.sleep(for: .milliseconds(20))
                            try await connection.execute("UPDATE \(unsafeSQL: schema).counter SET n = \(n + 1)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let rows = try await client.query("SELECT n FROM \(unsafeSQL: schema).counter")
            #expect(try rows[0].decode(0, as: Int.self) == 8)
        }
    }

    @Test func exhaustedPoolWaitsThenTimesOut() async throws {
        try await withClient(maxConnections: 1, acquireTimeoutMilliseconds: 300) { client, _ in
            try await client.withConnection { _ in
                await #expect {
                    try await client.query("SELECT 1")
                } throws: { error in
                    (error as? PostgresError)?.code == .poolTimeout
                }
            }
            // Once the session is back, a waiter gets it.
            let waiter = Task { try await client.query("SELECT 2 AS n") }
            let rows = try await waiter.value
            #expect(try rows[0].decode("n", as: Int.self) == 2)
        }
    }

    @Test func waitingCallerGetsTheReleasedSession() async throws {
        try await withClient(maxConnections: 1, acquireTimeoutMilliseconds: 5_000) { client, _ in
            let rows = try await withThrowingTaskGroup(of: Int.self) { group in
                for value in 0..<5 {
                    group.addTask {
                        let rows = try await client.query("SELECT \(value) + 0 AS n, pg_sleep(0.05)")
                        return try rows[0].decode("n", as: Int.self)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(rows.sorted() == [0, 1, 2, 3, 4])
        }
    }

    @Test func killedBackendIsReplaced() async throws {
        try await withClient(maxConnections: 1) { client, _ in
            let pid = try await client.withConnection { $0.backendPID }
            let admin = PostgresClient(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseURL), logger: logger)
            let killed = try await admin.query("SELECT pg_terminate_backend(\(pid))")
            #expect(try killed[0].decode(0, as: Bool.self))
            await admin.shutdown()
            // The FATAL message reaches the idle session shortly after.
            try await Task.sleep(for: .milliseconds(200))
            let rows = try await client.query("SELECT pg_backend_pid() AS pid")
            let newPID = try rows[0].decode("pid", as: Int32.self)
            #expect(newPID != pid)
            #expect(client.statistics.open == 1)
        }
    }

    @Test func syntaxErrorCarriesSQLState() async throws {
        try await withClient { client, _ in
            await #expect {
                try await client.query("SELEC 'secret-value'")
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                // The statement's text stays out of the description.
                return error.sqlState == "42601" && error.code == .server && !error.description.contains("secret-value")
            }
            // The session survives the error.
            let rows = try await client.query("SELECT 1 AS one")
            #expect(try rows[0].decode("one", as: Int.self) == 1)
        }
    }

    @Test func uniqueViolationHasDetail() async throws {
        try await withClient { client, schema in
            try await client.execute("CREATE TABLE \(unsafeSQL: schema).u (id int PRIMARY KEY)")
            try await client.execute("INSERT INTO \(unsafeSQL: schema).u VALUES (1)")
            await #expect {
                try await client.execute("INSERT INTO \(unsafeSQL: schema).u VALUES (1)")
            } throws: { error in
                guard let error = error as? PostgresError else { return false }
                return error.isUniqueViolation && (error.detail ?? "").contains("already exists")
            }
        }
    }

    @Test func listenReceivesNotifications() async throws {
        try await withClient { client, _ in
            let channel = TestEnvironment.uniqueName("chan")
            let listener = PostgresListener(
                configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseURL),
                channels: [channel], logger: logger)
            let running = Task { try await listener.run() }
            #expect(await eventually(timeout: .seconds(10)) { listener.isListening })
            try await client.notify(channel: channel, payload: "outbox:42")
            var iterator = listener.notifications.makeAsyncIterator()
            let received = await iterator.next()
            #expect(received?.channel == channel)
            #expect(received?.payload == "outbox:42")
            running.cancel()
            _ = try? await running.value
        }
    }

    @Test func queryAfterShutdownFails() async throws {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseURL), logger: logger)
        await client.shutdown()
        await #expect(throws: PostgresError.self) { try await client.query("SELECT 1") }
    }

    @Test func unreachableServerIsAConnectionError() async throws {
        var configuration = PostgresConfiguration(connectionString: "host=127.0.0.1 port=1 user=nobody dbname=none")
        configuration.connectTimeoutSeconds = 2
        let client = PostgresClient(configuration: configuration, logger: logger)
        await #expect {
            try await client.query("SELECT 1")
        } throws: { error in
            (error as? PostgresError)?.code == .connection
        }
        await client.shutdown()
    }
}
