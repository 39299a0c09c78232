public import CaseHubMetrics
import HubStore
public import Kafka
public import Logging
public import Postgres
import ServiceLifecycle
import UnixSignals

public struct ConfigurationError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// One CaseHub process: database pool, hub pipeline and relay, adapters'
/// delivery consumers and the HTTP server, run as one `ServiceGroup`,
/// composed from the builders of ``Parts``.
public final class CaseHubStack: Sendable {
    public let configuration: CaseHubConfiguration
    public let database: PostgresClient
    public let kafkaAdmin: KafkaAdmin
    /// This process's metrics, served at `/metrics`.
    public let metrics: CaseHubMetrics
    let logger: Logger
    private let serviceGroup: ServiceGroup

    /// Checks librdkafka, migrates the database and creates missing topics.
    /// Safe to run at every start and from several processes at once.
    public static func prepare(_ configuration: CaseHubConfiguration, logger: Logger) async throws {
        try LibrdkafkaVersion.requireSupported()
        let database = PostgresClient(configuration: PostgresConfiguration(connectionString: configuration.databaseURL), logger: logger)
        do {
            let applied = try await Migrator(client: database, logger: logger).migrate()
            if !applied.isEmpty { logger.info("database migrated", metadata: ["migration.versions": "\(applied)"]) }
            await database.shutdown()
        } catch {
            await database.shutdown()
            throw error
        }
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        let created = try await admin.createTopics(configuration.topicSpecifications)
        if !created.isEmpty { logger.info("topics created", metadata: ["kafka.topics.created": "\(created.count)"]) }
    }

    /// Builds every part; nothing connects until ``run()``.
    /// `onServerRunning` receives the HTTP port once the server listens.
    public init(
        configuration: CaseHubConfiguration, logger: Logger, handleSignals: Bool = true,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        try LibrdkafkaVersion.requireSupported()
        self.configuration = configuration
        self.logger = logger
        let metrics = CaseHubMetrics()
        self.metrics = metrics
        var databaseConfiguration = PostgresConfiguration(connectionString: configuration.databaseURL)
        databaseConfiguration.maxConnections = configuration.databaseMaxConnections
        let database = PostgresClient(configuration: databaseConfiguration, logger: logger)
        self.database = database
        kafkaAdmin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)

        let parts = Parts(configuration: configuration, database: database, kafkaAdmin: kafkaAdmin, metrics: metrics, logger: logger)
        // Services stop in reverse order of this list: HTTP first, the database pool last.
        var services: [any Service] = [database]
        if configuration.roles.hub { services += try parts.hubServices() }
        let router = try parts.router()
        if !configuration.roles.adapters.isEmpty { services += try await parts.adapterServices(routes: router) }
        services.append(try parts.application(router: router, onServerRunning: onServerRunning))
        serviceGroup = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
            cancellationSignals: [],
            logger: logger))
    }

    /// Runs until SIGINT/SIGTERM or ``shutdown()``, then stops the parts in
    /// reverse order: HTTP first, the database pool last.
    public func run() async throws {
        try await serviceGroup.run()
    }

    /// Starts a graceful shutdown, as SIGTERM would.
    public func shutdown() async {
        await serviceGroup.triggerGracefulShutdown()
    }
}
