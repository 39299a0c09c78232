import Adapters
import AdminAPI
import CaseHubMetrics
import CaseModel
import Hub
import HubStore
import Hummingbird
import Kafka
import Logging
import Postgres
import ServiceLifecycle
import Foundation
import HTTPCommon

public struct ConfigurationError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// One CaseHub process: database pool, hub pipeline and relay, adapters'
/// delivery consumers and the HTTP server, run as one `ServiceGroup`.
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

        func consumerConfiguration(group: String) -> KafkaConsumerConfiguration {
            var consumer = KafkaConsumerConfiguration(connection: configuration.kafka, groupID: group)
            consumer.sessionTimeoutMilliseconds = configuration.consumerSessionTimeoutMilliseconds
            return consumer
        }

        var services: [any Service] = [database]
        let hubStore = HubStore(client: database)
        if configuration.roles.hub {
            let relayWakeup = Wakeup()
            let relayProducer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: configuration.kafka), logger: logger)
            // Services stop in reverse order: the producer after the relay (it
            // flushes what the relay sent), the relay after the pipeline (it
            // publishes what the pipeline's last batch wrote).
            services.append(relayProducer)
            services.append(OutboxRelay(configuration: configuration.hub, store: hubStore, producer: relayProducer, wakeup: relayWakeup,
                                        metrics: metrics, logger: logger))
            services.append(HubPipeline(
                configuration: configuration.hub, registry: configuration.registry, store: hubStore,
                consumer: try KafkaConsumer(configuration: consumerConfiguration(group: configuration.hub.groupID), logger: logger),
                relayWakeup: relayWakeup, keyring: AgencyKeyring(store: AgencyKeyStore(client: database)), metrics: metrics, logger: logger))
            services.append(DeadlineScheduler(configuration: configuration.hub, store: hubStore, relayWakeup: relayWakeup, logger: logger))
            if let hubKeyFile = configuration.hubKeyFile {
                services.append(CheckpointWriter(
                    store: hubStore, key: try HubSigningKey.loadOrCreate(at: hubKeyFile), topics: configuration.topics,
                    interval: configuration.checkpointInterval, relayWakeup: relayWakeup, logger: logger))
            } else {
                logger.notice("no hub signing key configured (--hub-key): this process writes no audit checkpoints")
            }
        }

        let router = Router(context: CaseHubRequestContext.self)
        // Outermost, so that it sees the status of every error (each a problem by then).
        router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
        router.add(middleware: ProblemMiddleware())
        HealthRoutes(migrator: Migrator(client: database, logger: logger), kafka: kafkaAdmin).add(to: router)
        MetricsRoutes(metrics: metrics, tokens: AgencyTokenStore(client: database), store: hubStore,
                      queries: AdminQueries(client: database), lag: ConsumerLag(kafka: kafkaAdmin),
                      hubGroup: configuration.roles.hub ? configuration.hub.groupID : nil,
                      adapterGroup: configuration.roles.adapters.isEmpty
                          ? nil : DeliveryConsumer.groupID(for: configuration.roles.adapters, topics: configuration.topics)).add(to: router)
        if configuration.roles.hub {
            let adapters = configuration.roles.adapters
            let groups = [configuration.hub.groupID] + (adapters.isEmpty ? [] : [DeliveryConsumer.groupID(for: adapters, topics: configuration.topics)])
            AdminRoutes(queries: AdminQueries(client: database), verifier: AuditVerifier(client: database),
                        tokens: AgencyTokenStore(client: database), store: hubStore, lag: ConsumerLag(kafka: kafkaAdmin),
                        lagGroups: groups, registry: configuration.registry, servedAdapters: Set(adapters)).add(to: router)
            try DashboardRoutes().add(to: router)
        }

        let adapters = configuration.roles.adapters
        if !adapters.isEmpty {
            guard let keyDirectory = configuration.keyDirectory else {
                throw ConfigurationError(message: "adapters need a key directory for their agencies' signing keys (--key-dir)")
            }
            let signingKeys = try await SigningKeys.load(
                agencies: adapters, directory: URL(fileURLWithPath: keyDirectory), store: AgencyKeyStore(client: database))
            let delivered = Wakeup()
            let deliveryStore = DeliveryStore(client: database)
            let group = DeliveryConsumer.groupID(for: adapters, topics: configuration.topics)
            services.append(DeliveryConsumer(
                agencies: adapters, topics: configuration.topics, store: deliveryStore,
                consumer: try KafkaConsumer(configuration: consumerConfiguration(group: group), logger: logger),
                delivered: delivered, metrics: metrics, logger: logger))
            let submitProducer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: configuration.kafka), logger: logger)
            // Stops after everything that submits through it (HTTP, file drop, demo), flushing.
            services.append(submitProducer)
            var submitter = AgencySubmitter(
                registry: configuration.registry, topics: configuration.topics, producer: submitProducer, signingKeys: signingKeys,
                submissions: SubmissionStore(client: database), mappings: configuration.nativeMappings)
            submitter.limits = configuration.adapterLimits
            let adapterRoutes = AdapterRoutes(
                agencies: Set(adapters), submitter: submitter, deliveries: deliveryStore, delivered: delivered,
                tokens: AgencyTokenStore(client: database), cases: CaseViews(client: database),
                webhooks: WebhookStore(client: database), limits: configuration.adapterLimits)
            if configuration.httpTLS?.requireAgencyCertificates == true {
                adapterRoutes.add(to: router, agencyMiddleware: AgencyCertificateMiddleware())
            } else {
                adapterRoutes.add(to: router)
            }
            services.append(WebhookPusher(agencies: adapters, store: WebhookStore(client: database), delivered: delivered,
                                          configuration: configuration.webhooks, logger: logger))
            if let demo = configuration.demo {
                services.append(DemoScenario(submitter: submitter, registry: configuration.registry, rules: configuration.hub.deadlineRules,
                                             configuration: demo, logger: logger))
            }
            if let dropDirectory = configuration.fileDropDirectory {
                services.append(FileDrop(agencies: adapters, root: URL(fileURLWithPath: dropDirectory), submitter: submitter,
                                         deliveries: deliveryStore, delivered: delivered, logger: logger))
            }
        }

        let application = Application(
            router: router,
            server: try HTTPTLSSettings.serverBuilder(configuration.httpTLS),
            configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "casehub"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.httpPort) },
            logger: logger)
        services.append(application)
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
