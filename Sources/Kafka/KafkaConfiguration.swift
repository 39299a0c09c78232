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
    /// How long librdkafka holds a message to batch it with later ones
    /// (`linger.ms`). Every send here awaits its delivery report, so at low
    /// load this is a fixed wait per hop (adapter → hub, relay → agency);
    /// 1 ms still batches what is enqueued together (a relay round, a burst
    /// of submissions) and what queues up behind in-flight requests.
    public var lingerMilliseconds: Int = 1

    public init(connection: KafkaConfiguration) {
        self.connection = connection
    }

    func librdkafkaProperties() -> [String: String] {
        connection.librdkafkaProperties(defaults: [
            "enable.idempotence": idempotent ? "true" : "false",
            "message.timeout.ms": String(messageTimeoutMilliseconds),
            "linger.ms": String(lingerMilliseconds),
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
    /// The longest a broker may hold a fetch that has less than
    /// ``fetchMinBytes`` (`fetch.wait.max.ms`). Kafka answers a waiting fetch
    /// as soon as a record arrives, so this is no latency floor there; it
    /// bounds the wait where the broker cannot answer early (a partition
    /// assigned or resumed while a fetch is in flight, brokers that sleep
    /// out the wait: tansu does) and sets the idle fetch rate (10/s per
    /// broker). librdkafka's default, 500 ms, is too long for that bound.
    public var fetchWaitMaxMilliseconds: Int = 100
    /// A fetch returns as soon as this much is available (`fetch.min.bytes`):
    /// one record is enough, never wait to fill a batch.
    public var fetchMinBytes: Int = 1

    public init(connection: KafkaConfiguration, groupID: String) {
        self.connection = connection
        self.groupID = groupID
    }

    func librdkafkaProperties() -> [String: String] {
        connection.librdkafkaProperties(defaults: [
            "group.id": groupID,
            "auto.offset.reset": autoOffsetReset,
            "session.timeout.ms": String(sessionTimeoutMilliseconds),
            "fetch.wait.max.ms": String(fetchWaitMaxMilliseconds),
            "fetch.min.bytes": String(fetchMinBytes),
            // The application commits what it has processed; nothing automatic.
            "enable.auto.commit": "false",
            "enable.auto.offset.store": "false",
        ])
    }
}
