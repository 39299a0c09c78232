import HubStore
import Kafka
public import Logging
import Postgres

extension CaseHubStack {
    /// Local mode only (`casehub run`, the tests' stacks), standing in for
    /// the administrator of a real deployment: migrates the database as its
    /// owner (``CaseHubConfiguration/databaseURL``), lets the roles log in
    /// (the local cluster trusts loopback), points every part without a
    /// connection string of its own at its role, and creates the topics.
    /// Then the stack starts as any other: checked, each part as its role.
    public static func prepareLocally(_ configuration: inout CaseHubConfiguration, logger: Logger) async throws {
        let owner = PostgresClient(configuration: PostgresConfiguration(connectionString: configuration.databaseURL), logger: logger)
        do {
            let applied = try await Migrator(client: owner, logger: logger).migrate()
            if !applied.isEmpty { logger.info("database migrated", metadata: ["migration.versions": "\(applied)"]) }
            try await DatabaseRole.allowLocalLogin(client: owner)
            await owner.shutdown()
        } catch {
            await owner.shutdown()
            throw error
        }
        configuration.connectPartsAsTheirRoles()
        try await createTopics(configuration, logger: logger)
    }

    /// Creates the topics of every registered agency that are missing (what
    /// `casehub topics` does); returns the names created.
    @discardableResult
    public static func createTopics(_ configuration: CaseHubConfiguration, logger: Logger) async throws -> [String] {
        try LibrdkafkaVersion.requireSupported()
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        let created = try await admin.createTopics(configuration.topicSpecifications)
        if !created.isEmpty { logger.info("topics created", metadata: ["kafka.topics.created": "\(created.count)"]) }
        return created
    }
}
