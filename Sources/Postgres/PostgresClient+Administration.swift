public import Logging

/// Cluster-level chores for tools and tests (the benchmark, test setup):
/// nothing of CaseHub's schema.
extension PostgresClient {
    /// Creates an empty database and returns `connectionString` pointed at it
    /// (libpq: a later keyword overrides an earlier one). The name must be a
    /// plain identifier (ASCII letters, digits, `_`): CREATE DATABASE takes no
    /// parameters, so it is checked rather than bound.
    public static func createDatabase(_ name: String, on connectionString: String, logger: Logger) async throws -> String {
        guard !name.isEmpty, name.utf8.count <= 63, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
              !(name.first?.isNumber ?? true) else {
            throw PostgresError(.client, "not a plain database name: \(name.prefix(80))")
        }
        let admin = PostgresClient(configuration: PostgresConfiguration(connectionString: connectionString), logger: logger)
        do {
            try await admin.withConnection { connection in
                try await connection.executeScript(unsafeSQL: "CREATE DATABASE \(name)")
            }
            await admin.shutdown()
        } catch {
            await admin.shutdown()
            throw error
        }
        return connectionString + " dbname=\(name)"
    }

    /// The current value of a server setting, e.g. `synchronous_commit`.
    public func setting(_ name: String) async throws -> String {
        try await query("SELECT current_setting(\(name)) AS value")[0].decode("value")
    }
}
