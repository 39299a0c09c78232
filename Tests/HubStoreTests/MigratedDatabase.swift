import HubStore
import Logging
import Postgres
import TestSupport

extension TestDatabase {
    /// A fresh test database, migrated to the latest schema: what each store
    /// test starts from.
    static func migrated(_ name: String, logger: Logger) async throws -> PostgresClient {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: try await create(name)), logger: logger)
        _ = try await Migrator(client: client, logger: logger).migrate()
        return client
    }
}
