import Foundation
import Logging
import Postgres

/// A database of its own for one test, created on the test cluster.
public enum TestDatabase {
    /// Creates an empty database and returns a connection string for it.
    public static func create(_ prefix: String = "test") async throws -> String {
        let name = TestEnvironment.uniqueName(prefix).replacingOccurrences(of: "-", with: "_")
        return try await PostgresClient.createDatabase(name, on: TestEnvironment.databaseURL, logger: Logger(label: "test.database"))
    }
}
