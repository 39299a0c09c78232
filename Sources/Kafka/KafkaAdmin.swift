import Dispatch
public import Logging

/// Topic management and the broker-side figures lag is computed from.
public final class KafkaAdmin: Sendable {
    /// A topic to create.
    public struct TopicSpecification: Sendable, Hashable {
        public var name: String
        public var partitions: Int
        public var replicationFactor: Int
        /// Topic configs, e.g. `retention.ms`, `min.insync.replicas`.
        public var configs: [String: String]

        public init(name: String, partitions: Int, replicationFactor: Int = 1, configs: [String: String] = [:]) {
            self.name = name
            self.partitions = partitions
            self.replicationFactor = replicationFactor
            self.configs = configs
        }
    }

    /// What the cluster knows of a topic.
    public struct TopicMetadata: Sendable, Hashable {
        public var name: String
        public var partitionCount: Int
    }

    /// The offsets a partition holds: `low` is the first readable, `high` the next to be written.
    public struct Watermarks: Sendable, Hashable {
        public var low: Int64
        public var high: Int64
    }

    private let admin: RDKafkaAdmin
    private let serial = DispatchQueue(label: "casehub.kafka.admin")

    public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        admin = try RDKafkaAdmin(properties: configuration.librdkafkaProperties(defaults: [:]), logger: logger)
    }

    /// Creates the topics that do not exist yet; existing ones are left as they are.
    /// Returns the names that were created by this call.
    @discardableResult
    public func createTopics(_ topics: [TopicSpecification], timeoutMilliseconds: Int = 30_000) async throws -> [String] {
        let admin = self.admin
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [String] in
            try admin.createTopics(topics, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// The cluster's topics and their partition counts.
    public func topics(timeoutMilliseconds: Int = 10_000) async throws -> [TopicMetadata] {
        let admin = self.admin
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [TopicMetadata] in
            try admin.topics(timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// Low and high watermarks of one partition, asked of its leader.
    public func watermarks(of partition: KafkaTopicPartition, timeoutMilliseconds: Int = 10_000) async throws -> Watermarks {
        let admin = self.admin
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> Watermarks in
            try admin.watermarks(of: partition, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    /// A consumer group's committed next-read positions, for every partition it has committed.
    public func committedOffsets(group: String, timeoutMilliseconds: Int = 10_000) async throws -> [KafkaTopicPartition: Int64] {
        let admin = self.admin
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            try admin.committedOffsets(group: group, timeoutMilliseconds: timeoutMilliseconds)
        }
    }
}
