public import Adapters
public import CaseModel
public import Hub
public import Kafka

/// Everything one CaseHub process needs to know. Built from the environment
/// (``fromEnvironment(_:)``) and command-line options at the edge.
public struct CaseHubConfiguration: Sendable {
    /// Which parts this process runs.
    public struct Roles: Sendable {
        /// The hub pipeline and outbox relay.
        public var hub: Bool
        /// Agencies whose adapters (HTTP API, delivery consumer) run here.
        public var adapters: [AgencyID]

        public init(hub: Bool, adapters: [AgencyID]) {
            self.hub = hub
            self.adapters = adapters
        }
    }

    /// Brokers, client id and raw librdkafka properties.
    public var kafka: KafkaConfiguration
    /// `session.timeout.ms` of every consumer. Shorter makes group joins faster
    /// on tansu, which delays a join by about half of it.
    public var consumerSessionTimeoutMilliseconds: Int = 45_000
    /// libpq connection string; empty uses the `PG*` environment variables.
    /// The schema owner's, for `casehub migrate`; each part of a process
    /// connects with its role's below, this where that is nil.
    public var databaseURL: String
    /// The hub's (role `casehub_hub`), the adapters' (`casehub_adapter`) and
    /// the administrators' commands' (`casehub_admin`): ``databaseURL(for:)``.
    public var hubDatabaseURL: String?
    public var adapterDatabaseURL: String?
    public var adminDatabaseURL: String?
    public var databaseMaxConnections: Int = 10
    public var httpHost: String = "127.0.0.1"
    /// 0 picks a free port (tests).
    public var httpPort: Int = 8080
    /// HTTPS and optional client certificates; plain HTTP when nil.
    public var httpTLS: HTTPTLSSettings?
    public var topics: TopicNames
    public var topicPartitions: Int = 3
    public var topicReplicationFactor: Int = 1
    public var registry: AgencyRegistry = .zhuzhou
    /// How native records of each agency kind map to canonical events.
    public var nativeMappings: NativeMappings = .standard
    /// Backoff and timeouts of webhook pushes.
    public var webhooks = WebhookPusher.Configuration()
    /// What each agency's system may send (body, batch, strings, rate).
    public var adapterLimits = AdapterLimits()
    /// `casehub run --demo`: the demonstration scenario; off when nil.
    public var demo: DemoScenario.Configuration?
    /// Root of the adapters' file drop (`<root>/<agency>/outgoing|incoming|done|failed`); none when nil.
    public var fileDropDirectory: String?
    public var hub: HubConfiguration
    public var roles: Roles
    /// Where the adapters keep their agencies' private signing keys (created
    /// when missing). Needed when this process runs adapters.
    public var keyDirectory: String?
    /// Local mode only (`casehub run`, the tests' stacks): the adapters'
    /// own keys are approved at start, as the administrator `local-stack`,
    /// audited like any approval. Elsewhere an adapter only proposes its key
    /// and an administrator approves it (`casehub keys approve`). Never read
    /// from the environment.
    public var approveOwnSigningKeys = false
    /// The hub's own signing key (created when missing): it signs the audit
    /// checkpoints and the records on agencies' delivery topics. Without one,
    /// this process writes no checkpoints and signs deliveries with a key
    /// made for its lifetime (recorded in `hub_keys`).
    public var hubKeyFile: String?
    /// The hub public keys (base64, from `casehub audit hub-key`) this
    /// process's adapters accept deliveries signed with. Empty: they trust
    /// the keys hub processes recorded in the database (`hub_keys`).
    public var hubPublicKeys: [String] = []
    /// How often the hub checkpoints the audit chains' heads when they moved.
    public var checkpointInterval: Duration = .seconds(5)

    public init(kafka: KafkaConfiguration, databaseURL: String, topics: TopicNames = TopicNames(), roles: Roles? = nil) {
        self.kafka = kafka
        self.databaseURL = databaseURL
        self.topics = topics
        self.hub = HubConfiguration(topics: topics)
        self.hub.groupID = "\(topics.prefix)-hub"
        self.roles = roles ?? Roles(hub: true, adapters: AgencyRegistry.zhuzhou.all.map(\.id))
    }

    /// Every topic the configured agencies use.
    public var topicSpecifications: [KafkaAdmin.TopicSpecification] {
        var names = [topics.changes, topics.rejected, topics.checkpoints]
        for agency in registry.all {
            names += [topics.from(agency.id), topics.to(agency.id)]
        }
        return names.map { KafkaAdmin.TopicSpecification(name: $0, partitions: topicPartitions, replicationFactor: topicReplicationFactor) }
    }
}
