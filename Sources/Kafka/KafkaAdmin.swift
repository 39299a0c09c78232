import CRdKafka
import Dispatch
import Logging

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

    private let client: RDKafkaClient
    private let serial = DispatchQueue(label: "casehub.kafka.admin")

    public init(configuration: KafkaConfiguration, logger: Logger) throws(KafkaError) {
        client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.librdkafkaProperties(defaults: [:]),
            events: 0,
            logger: logger
        )
    }

    /// Creates the topics that do not exist yet; existing ones are left as they are.
    /// Returns the names that were created by this call.
    @discardableResult
    public func createTopics(_ topics: [TopicSpecification], timeoutMilliseconds: Int = 30_000) async throws -> [String] {
        let client = self.client
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [String] in
            client.drainMainQueue()
            var errorBuffer = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for spec in topics {
                guard let topic = rd_kafka_NewTopic_new(spec.name, Int32(spec.partitions), Int32(spec.replicationFactor), &errorBuffer, errorBuffer.count) else {
                    throw KafkaError(.topicCreation, "topic \(spec.name): \(String(errorBuffer: errorBuffer))")
                }
                newTopics.append(topic)
                for (key, value) in spec.configs.sorted(by: { $0.key < $1.key }) {
                    rd_kafka_NewTopic_set_config(topic, key, value)
                }
            }
            let resultQueue = rd_kafka_queue_new(client.handle)!
            defer { rd_kafka_queue_destroy(resultQueue) }
            let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeoutMilliseconds), &errorBuffer, errorBuffer.count)
            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, resultQueue)
            }
            let event = try Self.awaitResult(on: resultQueue, type: RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeoutMilliseconds: timeoutMilliseconds + 5_000, what: "create topics")
            defer { rd_kafka_event_destroy(event) }
            var count = 0
            let results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count)!
            var created: [String] = []
            for index in 0..<count {
                let result = results[index]
                let name = String(cString: rd_kafka_topic_result_name(result))
                let code = rd_kafka_topic_result_error(result)
                switch code {
                case RD_KAFKA_RESP_ERR_NO_ERROR: created.append(name)
                case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS: break
                default:
                    let text = rd_kafka_topic_result_error_string(result).map { String(cString: $0) } ?? RDKafkaClient.errorString(code)
                    throw KafkaError(.topicCreation, "topic \(name): \(text)", librdkafkaCode: code.rawValue)
                }
            }
            return created
        }
    }

    /// The cluster's topics and their partition counts.
    public func topics(timeoutMilliseconds: Int = 10_000) async throws -> [TopicMetadata] {
        let client = self.client
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [TopicMetadata] in
            client.drainMainQueue()
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let code = rd_kafka_metadata(client.handle, 1, nil, &metadata, Int32(timeoutMilliseconds))
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaError(code == RD_KAFKA_RESP_ERR__TIMED_OUT ? .timeout : .admin,
                                 "metadata: \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue, isRetriable: true)
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            return (0..<Int(metadata.pointee.topic_cnt)).map { index in
                let topic = metadata.pointee.topics[index]
                return TopicMetadata(name: String(cString: topic.topic), partitionCount: Int(topic.partition_cnt))
            }.sorted { $0.name < $1.name }
        }
    }

    /// Low and high watermarks of one partition, asked of its leader.
    public func watermarks(of partition: KafkaTopicPartition, timeoutMilliseconds: Int = 10_000) async throws -> Watermarks {
        let client = self.client
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> Watermarks in
            client.drainMainQueue()
            var low: Int64 = 0
            var high: Int64 = 0
            let code = rd_kafka_query_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high, Int32(timeoutMilliseconds))
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(.admin, "watermarks of \(partition): \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue, isRetriable: true)
            }
            return Watermarks(low: low, high: high)
        }
    }

    /// A consumer group's committed next-read positions, for every partition it has committed.
    public func committedOffsets(group: String, timeoutMilliseconds: Int = 10_000) async throws -> [KafkaTopicPartition: Int64] {
        let client = self.client
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            client.drainMainQueue()
            var errorBuffer = [CChar](repeating: 0, count: 512)
            let resultQueue = rd_kafka_queue_new(client.handle)!
            defer { rd_kafka_queue_destroy(resultQueue) }
            let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeoutMilliseconds), &errorBuffer, errorBuffer.count)
            var request: OpaquePointer? = rd_kafka_ListConsumerGroupOffsets_new(group, nil)
            defer { rd_kafka_ListConsumerGroupOffsets_destroy(request) }
            rd_kafka_ListConsumerGroupOffsets(client.handle, &request, 1, options, resultQueue)
            let event = try Self.awaitResult(on: resultQueue, type: RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT, timeoutMilliseconds: timeoutMilliseconds + 5_000, what: "committed offsets of \(group)")
            defer { rd_kafka_event_destroy(event) }
            var count = 0
            let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(event), &count)!
            var positions: [KafkaTopicPartition: Int64] = [:]
            for index in 0..<count {
                let result = groups[index]
                if let error = rd_kafka_group_result_error(result) {
                    throw KafkaError(.admin, "committed offsets of \(group): \(String(cString: rd_kafka_error_string(error)))",
                                     librdkafkaCode: rd_kafka_error_code(error).rawValue)
                }
                if let list = rd_kafka_group_result_partitions(result) {
                    for element in UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt)) where element.offset >= 0 {
                        positions[KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
                    }
                }
            }
            return positions
        }
    }

    /// Waits for an admin result on a private queue. The returned event is the caller's to destroy.
    private static func awaitResult(on queue: OpaquePointer, type: Int32, timeoutMilliseconds: Int, what: String) throws(KafkaError) -> OpaquePointer {
        guard let event = rd_kafka_queue_poll(queue, Int32(timeoutMilliseconds)) else {
            throw KafkaError(.timeout, "\(what): no answer within \(timeoutMilliseconds) ms", isRetriable: true)
        }
        let code = rd_kafka_event_error(event)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            let text = String(cString: rd_kafka_event_error_string(event))
            rd_kafka_event_destroy(event)
            throw KafkaError(code == RD_KAFKA_RESP_ERR__TIMED_OUT ? .timeout : .admin, "\(what): \(text)",
                             librdkafkaCode: code.rawValue, isRetriable: code == RD_KAFKA_RESP_ERR__TIMED_OUT)
        }
        guard rd_kafka_event_type(event) == type else {
            rd_kafka_event_destroy(event)
            throw KafkaError(.admin, "\(what): unexpected answer")
        }
        return event
    }
}
