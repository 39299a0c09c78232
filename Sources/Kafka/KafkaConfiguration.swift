/// Connection settings shared by producers, consumers and admin clients.
///
/// Anything librdkafka understands can be set through ``properties``
/// (e.g. `security.protocol`, `sasl.mechanisms`, `linger.ms`): those pass
/// through unchanged and win over the typed fields.
public struct KafkaConfiguration: Sendable {
    /// `host:port` pairs of the bootstrap brokers.
    public var bootstrapServers: [String]
    /// `client.id` sent to the brokers; shows up in broker logs and quotas.
    public var clientID: String
    /// Raw librdkafka properties, applied last.
    public var properties: [String: String]

    public init(bootstrapServers: [String], clientID: String = "casehub", properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    /// Checks one raw property against the loaded librdkafka: that it exists
    /// and takes this value. Lets configuration readers refuse a mistyped
    /// setting at start-up, naming where it came from.
    public static func checkProperty(_ key: String, value: String) throws(KafkaError) {
        try RDKafkaConfig.check(key, value)
    }

    /// The properties handed to librdkafka, typed fields first.
    func librdkafkaProperties(defaults: [String: String]) -> [String: String] {
        var all = defaults
        all["bootstrap.servers"] = bootstrapServers.joined(separator: ",")
        all["client.id"] = clientID
        for (key, value) in properties { all[key] = value }
        return all
    }
}

/// Settings of a ``KafkaProducer``.
public struct KafkaProducerConfiguration: Sendable {
    public var connection: KafkaConfiguration
    /// Idempotent delivery (no duplicates or reordering on retry). On by default.
    public var idempotent: Bool = true
    /// How long librdkafka keeps trying to deliver one message before it reports
    /// failure. Bounded so that a dead broker surfaces as an error, not a hang.
    public var messageTimeoutMilliseconds: Int = 30_000
    /// How long ``KafkaProducer/shutdown()`` waits for in-flight messages.
    public var flushTimeoutMilliseconds: Int = 30_000

    public init(connection: KafkaConfiguration) {
        self.connection = connection
    }

    func librdkafkaProperties() -> [String: String] {
        connection.librdkafkaProperties(defaults: [
            "enable.idempotence": idempotent ? "true" : "false",
            "message.timeout.ms": String(messageTimeoutMilliseconds),
            "linger.ms": "5",
        ])
    }
}

/// Settings of a ``KafkaConsumer``.
public struct KafkaConsumerConfiguration: Sendable {
    public var connection: KafkaConfiguration
    /// The consumer group; members of one group split the partitions.
    public var groupID: String
    /// Where a group with no committed offset starts: `earliest` or `latest`.
    public var autoOffsetReset: String = "earliest"
    /// How long the group waits for a silent member before it rebalances.
    public var sessionTimeoutMilliseconds: Int = 45_000

    public init(connection: KafkaConfiguration, groupID: String) {
        self.connection = connection
        self.groupID = groupID
    }

    func librdkafkaProperties() -> [String: String] {
        connection.librdkafkaProperties(defaults: [
            "group.id": groupID,
            "auto.offset.reset": autoOffsetReset,
            "session.timeout.ms": String(sessionTimeoutMilliseconds),
            // The application commits what it has processed; nothing automatic.
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
        ])
    }
}
