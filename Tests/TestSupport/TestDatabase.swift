import Logging
import Postgres

/// A database of its own for one test, created on the test cluster.
public enum TestDatabase {
    /// Creates an empty database and returns a connection string for it.
    public static func create(_ prefix: String = "test") async throws -> String {
        let name = TestEnvironment.uniqueName(prefix).replacingOccurrences(of: "-", with: "_")
        let admin = PostgresClient(configuration: PostgresConfiguration(connectionString: TestEnvironment.databaseURL),
                                   logger: Logger(label: "test.database"))
        defer { Task { await admin.shutdown() } }
        try await admin.withConnection { connection in
            // CREATE DATABASE takes no parameters; the name is generated above.
            try await connection.executeScript(unsafeSQL: "CREATE DATABASE \(name)")
        }
        await admin.shutdown()
        // libpq: a later keyword overrides an earlier one.
        return TestEnvironment.databaseURL + " dbname=\(name)"
    }
}
