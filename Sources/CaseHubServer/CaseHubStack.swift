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
    /// The pool of the process's first part: the hub's (role `casehub_hub`)
    /// where it runs, else the adapters'.
    public let database: PostgresClient
    /// The adapters' pool (role `casehub_adapter`); ``database`` itself in a
    /// process without a hub, or where both roles have the same connection string.
    public let adapterDatabase: PostgresClient
    public let kafkaAdmin: KafkaAdmin
    /// This process's metrics, served at `/metrics`.
    public let metrics: CaseHubMetrics
    let logger: Logger
    private let serviceGroup: ServiceGroup

    /// Checks librdkafka, and that the database is at exactly this build's
    /// schema version for every part of this process, each under its own
    /// role (``DatabaseReadiness``): a database not migrated to it, or newer,
    /// refuses the start with what to do. Changes nothing: the schema and the
    /// roles are `casehub migrate`'s, the topics `casehub topics`'s.
    public static func checkReady(_ configuration: CaseHubConfiguration, logger: Logger) async throws {
        try LibrdkafkaVersion.requireSupported()
        var parts: [DatabaseReadiness] = []
        if configuration.roles.hub {
            parts.append(DatabaseReadiness(part: "hub", role: .hub, connectionString: configuration.databaseURL(for: .hub),
                                           setting: configuration.hubDatabaseURL == nil ? "CASEHUB_DATABASE_URL" : "CASEHUB_HUB_DATABASE_URL"))
        }
        if !configuration.roles.adapters.isEmpty {
            parts.append(DatabaseReadiness(part: "adapters", role: .adapter, connectionString: configuration.databaseURL(for: .adapter),
                                           setting: configuration.adapterDatabaseURL == nil ? "CASEHUB_DATABASE_URL" : "CASEHUB_ADAPTER_DATABASE_URL"))
            if configuration.approveOwnSigningKeys {
                parts.append(DatabaseReadiness(part: "local key approval", role: .admin, connectionString: configuration.databaseURL(for: .admin),
                                               setting: configuration.adminDatabaseURL == nil ? "CASEHUB_DATABASE_URL" : "CASEHUB_ADMIN_DATABASE_URL"))
            }
        }
        for part in parts { try await part.check(logger: logger) }
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
        // Each part connects as its own role: one pool per connection string.
        func pool(_ role: DatabaseRole) -> PostgresClient {
            var databaseConfiguration = PostgresConfiguration(connectionString: configuration.databaseURL(for: role))
            databaseConfiguration.maxConnections = configuration.databaseMaxConnections
            return PostgresClient(configuration: databaseConfiguration, logger: logger)
        }
        let runsHub = configuration.roles.hub
        let database = pool(runsHub ? .hub : .adapter)
        let adapterDatabase = runsHub && configuration.databaseURL(for: .adapter) != configuration.databaseURL(for: .hub) ? pool(.adapter) : database
        self.database = database
        self.adapterDatabase = adapterDatabase
        kafkaAdmin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)

        let parts = Parts(configuration: configuration, database: database, adapterDatabase: adapterDatabase, kafkaAdmin: kafkaAdmin,
                          metrics: metrics, logger: logger)
        // Services stop in reverse order of this list: HTTP first, the database pools last.
        var services: [any Service] = adapterDatabase === database ? [database] : [database, adapterDatabase]
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
