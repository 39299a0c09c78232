import Adapters
import AdminAPI
public import CaseHubMetrics
import CaseModel
import Foundation
import HTTPCommon
import Hub
import HubStore
public import Hummingbird
public import Kafka
public import Logging
public import Postgres
public import ServiceLifecycle

extension CaseHubStack {
    /// The builders one process is composed of, each usable alone (tests
    /// build a router or the hub's services the way the stack does):
    /// ``hubServices()``, ``router()``, ``adapterServices(routes:)`` and
    /// ``application(router:onServerRunning:)``.
    public struct Parts: Sendable {
        public let configuration: CaseHubConfiguration
        /// The hub's pool (role `casehub_hub`), also serving the router's
        /// own routes; in a process without a hub, the adapters'.
        public let database: PostgresClient
        /// The adapters' pool (role `casehub_adapter`).
        public let adapterDatabase: PostgresClient
        public let kafkaAdmin: KafkaAdmin
        public let metrics: CaseHubMetrics
        public let logger: Logger

        public init(configuration: CaseHubConfiguration, database: PostgresClient, adapterDatabase: PostgresClient? = nil, kafkaAdmin: KafkaAdmin,
                    metrics: CaseHubMetrics, logger: Logger) {
            self.configuration = configuration
            self.database = database
            self.adapterDatabase = adapterDatabase ?? database
            self.kafkaAdmin = kafkaAdmin
            self.metrics = metrics
            self.logger = logger
        }

        func consumerConfiguration(group: String) -> KafkaConsumerConfiguration {
            var consumer = KafkaConsumerConfiguration(connection: configuration.kafka, groupID: group)
            consumer.sessionTimeoutMilliseconds = configuration.consumerSessionTimeoutMilliseconds
            return consumer
        }

        /// The hub: its producer, the notifications (commits of any hub
        /// process wake this process's relays; adapters' service records, its
        /// service recorder), the outbox relay, the pipeline, the deadline
        /// scheduler, the service recorder and (with a hub key file) the
        /// checkpoint writer, in the order
        /// they must start (they stop in reverse: the producer after the relay,
        /// which flushes what the relay sent; the relay after the pipeline, so
        /// that it publishes what the pipeline's last batch wrote). The relay
        /// signs deliveries with the hub key; without a key file, with a key
        /// made for this process's lifetime.
        public func hubServices() throws -> [any Service] {
            let hubStore = HubStore(client: database)
            let relayWakeup = Wakeup()
            let serviceWakeup = Wakeup()
            let relayProducer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: configuration.kafka), logger: logger)
            let hubKey = try configuration.hubKeyFile.map(HubSigningKey.loadOrCreate(at:))
            if hubKey == nil {
                logger.notice("no hub signing key file configured (--hub-key): deliveries are signed with a key made for this process, which only adapters trusting the database's hub keys accept")
            }
            let signer = DeliverySigner(keyFromFile: hubKey, topics: configuration.topics)
            var services: [any Service] = [
                relayProducer,
                HubNotifications(database: PostgresConfiguration(connectionString: configuration.databaseURL(for: .hub)),
                                 relayWakeup: relayWakeup, serviceWakeup: serviceWakeup, logger: logger),
                OutboxRelay(configuration: configuration.hub, store: hubStore, producer: relayProducer, wakeup: relayWakeup,
                            signer: signer, keys: HubKeyStore(client: database), metrics: metrics, logger: logger),
                HubPipeline(
                    configuration: configuration.hub, registry: configuration.registry, store: hubStore,
                    consumer: try KafkaConsumer(configuration: consumerConfiguration(group: configuration.hub.groupID), logger: logger),
                    relayWakeup: relayWakeup, keyring: AgencyKeyring(store: AgencyKeyStore(client: database)), metrics: metrics, logger: logger),
                DeadlineScheduler(configuration: configuration.hub, store: hubStore, relayWakeup: relayWakeup, logger: logger),
                ServiceRecorder(configuration: configuration.hub, registry: configuration.registry, store: hubStore,
                                recorded: serviceWakeup, relayWakeup: relayWakeup, logger: logger),
                // The adapters' role may not write the audit trail: the hub audits their webhook changes.
                WebhookChangeAuditor(store: hubStore, logger: logger),
            ]
            if let hubKey {
                services.append(CheckpointWriter(
                    store: hubStore, key: hubKey, topics: configuration.topics,
                    interval: configuration.checkpointInterval, relayWakeup: relayWakeup, logger: logger))
            } else {
                logger.notice("no hub signing key configured (--hub-key): this process writes no audit checkpoints")
            }
            return services
        }

        /// Health, metrics and, where the hub runs, the administrators' API
        /// and the dashboard. The adapters add their routes to it.
        public func router() throws -> Router<CaseHubRequestContext> {
            let hubStore = HubStore(client: database)
            let router = Router(context: CaseHubRequestContext.self)
            // Outermost, so that it sees the status of every error (each a problem by then).
            router.add(middleware: RequestMetricsMiddleware(metrics: metrics))
            router.add(middleware: ProblemMiddleware())
            HealthRoutes(migrator: Migrator(client: database, logger: logger), kafka: kafkaAdmin).add(to: router)
            let adapters = configuration.roles.adapters
            let adapterGroup = adapters.isEmpty ? nil : DeliveryConsumer.groupID(for: adapters, topics: configuration.topics)
            MetricsRoutes(metrics: metrics, tokens: AgencyTokenStore(client: database), store: hubStore,
                          queries: AdminQueries(client: database), lag: ConsumerLag(kafka: kafkaAdmin),
                          hubGroup: configuration.roles.hub ? configuration.hub.groupID : nil, adapterGroup: adapterGroup).add(to: router)
            if configuration.roles.hub {
                AdminRoutes(queries: AdminQueries(client: database), verifier: AuditVerifier(client: database),
                            tokens: AgencyTokenStore(client: database), store: hubStore, lag: ConsumerLag(kafka: kafkaAdmin),
                            lagGroups: [configuration.hub.groupID] + (adapterGroup.map { [$0] } ?? []),
                            registry: configuration.registry, servedAdapters: Set(adapters)).add(to: router)
                let backfill = HistoricalImport(configuration: configuration.hub, registry: configuration.registry, store: hubStore, logger: logger)
                ImportRoutes(tokens: AgencyTokenStore(client: database)) { events, actor, digest, dryRun in
                    let report = try await backfill.run(events, by: actor, digest: digest, dryRun: dryRun)
                    return (!report.refused.isEmpty, Self.json(report))
                }.add(to: router)
                try DashboardRoutes().add(to: router)
            }
            return router
        }

        /// An import's report, as `POST /v1/imports` answers it.
        static func json(_ report: HistoricalImport.Report) -> JSONValue {
            .object([
                "importId": .string(report.importID), "events": .integer(Int64(report.events)), "dryRun": .bool(report.dryRun),
                "stored": .bool(report.refused.isEmpty && !report.dryRun), "cases": .array(report.cases.map(JSONValue.string)),
                "refused": .array(report.refused.map { refused in
                    .object([
                        "index": .integer(Int64(refused.index)), "eventId": .string(refused.eventID),
                        "code": .string(refused.refusal.code.rawValue), "reason": .string(refused.refusal.reason),
                        "reasonZH": .string(refused.refusal.reasonZH), "violations": refused.refusal.violationsJSON,
                    ])
                }),
            ])
        }

        /// The adapters of the configured agencies: their routes on `routes`,
        /// and the log of their refusals (it stops after everything that
        /// reports to it: the HTTP server, the file drop, the delivery
        /// consumer), the delivery consumer, the submitting producer
        /// (registered before everything that submits through it, so that it
        /// stops after them and flushes), webhooks, the file drop and the demo.
        public func adapterServices(routes router: Router<CaseHubRequestContext>) async throws -> [any Service] {
            let adapters = configuration.roles.adapters
            guard let keyDirectory = configuration.keyDirectory else {
                throw ConfigurationError(message: "adapters need a key directory for their agencies' signing keys (--key-dir)")
            }
            let signingKeys = try await SigningKeys.load(
                agencies: adapters, directory: URL(fileURLWithPath: keyDirectory), store: AgencyKeyStore(client: adapterDatabase))
            try await settleOwnSigningKeys(signingKeys)
            let delivered = Wakeup()
            let deliveryStore = DeliveryStore(client: adapterDatabase)
            let group = DeliveryConsumer.groupID(for: adapters, topics: configuration.topics)
            let submitProducer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: configuration.kafka), logger: logger)
            let refusals = AdapterRefusalLog(writer: AdapterRejectionStore(client: adapterDatabase), metrics: metrics, logger: logger)
            // Only what the hub signed reaches an agency: with the keys given, else the ones hubs recorded.
            let trust: HubKeyTrust
            if configuration.hubPublicKeys.isEmpty {
                trust = HubKeyTrust(.database(HubKeyStore(client: adapterDatabase)))
            } else {
                do {
                    trust = try HubKeyTrust.pinning(configuration.hubPublicKeys)
                } catch {
                    throw ConfigurationError(message: "--hub-public-key: \(error)")
                }
            }
            // The refusal log first: it stops last, after the delivery consumer that reports to it too.
            var services: [any Service] = [
                refusals,
                DeliveryConsumer(
                    agencies: adapters, topics: configuration.topics, store: deliveryStore,
                    verification: DeliveryVerification(trust: trust, refusals: refusals, metrics: metrics, logger: logger),
                    consumer: try KafkaConsumer(configuration: consumerConfiguration(group: group), logger: logger),
                    delivered: delivered, clock: configuration.hub.clock, metrics: metrics, logger: logger),
                submitProducer,
            ]
            var submitter = AgencySubmitter(
                registry: configuration.registry, topics: configuration.topics, producer: submitProducer, signingKeys: signingKeys,
                submissions: SubmissionStore(client: adapterDatabase), mappings: configuration.nativeMappings)
            submitter.limits = configuration.adapterLimits
            let adapterRoutes = AdapterRoutes(
                agencies: Set(adapters), submitter: submitter, deliveries: deliveryStore, delivered: delivered,
                tokens: AgencyTokenStore(client: adapterDatabase), cases: CaseViews(client: adapterDatabase),
                webhooks: WebhookStore(client: adapterDatabase), refusals: refusals, limits: configuration.adapterLimits)
            if configuration.httpTLS?.requireAgencyCertificates == true {
                adapterRoutes.add(to: router, agencyMiddleware: AgencyCertificateMiddleware())
            } else {
                adapterRoutes.add(to: router)
            }
            services.append(WebhookPusher(agencies: adapters, store: WebhookStore(client: adapterDatabase), delivered: delivered,
                                          configuration: configuration.webhooks, logger: logger))
            if let demo = configuration.demo {
                services.append(DemoScenario(submitter: submitter, registry: configuration.registry, rules: configuration.hub.deadlineRules,
                                             configuration: demo, logger: logger))
            }
            if let dropDirectory = configuration.fileDropDirectory {
                services.append(FileDrop(agencies: adapters, root: URL(fileURLWithPath: dropDirectory), submitter: submitter,
                                         deliveries: deliveryStore, delivered: delivered, refusals: refusals, logger: logger))
            }
            return services
        }

        /// Says where the adapters' keys stand; in local mode approves them,
        /// as an administrator, so through the administrators' role: the
        /// adapters' may only propose.
        private func settleOwnSigningKeys(_ keys: SigningKeys) async throws {
            guard configuration.approveOwnSigningKeys else {
                return try await OwnSigningKeys(keys: keys, store: AgencyKeyStore(client: adapterDatabase), logger: logger).settle(approving: false)
            }
            let administrators = PostgresClient(configuration: PostgresConfiguration(connectionString: configuration.databaseURL(for: .admin)),
                                                logger: logger)
            do {
                try await OwnSigningKeys(keys: keys, store: AgencyKeyStore(client: administrators), logger: logger).settle(approving: true)
                await administrators.shutdown()
            } catch {
                await administrators.shutdown()
                throw error
            }
        }

        /// The HTTP server for `router` (HTTPS when configured).
        public func application(router: Router<CaseHubRequestContext>,
                                onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> some ApplicationProtocol {
            let port = configuration.httpPort
            return Application(
                router: router,
                server: try HTTPTLSSettings.serverBuilder(configuration.httpTLS),
                configuration: .init(address: .hostname(configuration.httpHost, port: port), serverName: "casehub"),
                onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
                logger: logger)
        }
    }
}
