import CRdKafka
import Logging

/// An admin client's librdkafka side: a producer-kind client that nobody
/// polls continuously, so each call first serves the logs waiting on its main
/// queue. Every method blocks; ``KafkaAdmin`` calls them from its serial
/// dispatch queue. Admin results arrive on a queue private to the request.
final class RDKafkaAdmin: @unchecked Sendable {
    private let client: RDKafkaClient

    init(properties: [String: String], logger: Logger) throws(KafkaError) {
        client = try RDKafkaClient(kind: .producer, properties: properties, events: 0, logger: logger)
    }

    /// Creates the topics that do not exist yet; returns the names created by this call.
    func createTopics(_ topics: [KafkaAdmin.TopicSpecification], timeoutMilliseconds: Int) throws(KafkaError) -> [String] {
        client.drainMainQueue()
        var errorBuffer = [CChar](repeating: 0, count: 512)
        // Ownership: the NewTopic objects are ours until the end of this call;
        // rd_kafka_CreateTopics copies what it needs.
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
        let resultQueue = RDKafkaQueue.new(of: client)
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_CREATETOPICS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeoutMilliseconds), &errorBuffer, errorBuffer.count)
        resultQueue.withPointer { queue in
            newTopics.withUnsafeMutableBufferPointer { buffer in
                rd_kafka_CreateTopics(client.handle, buffer.baseAddress, buffer.count, options, queue)
            }
        }
        return try Self.awaitResult(
            on: resultQueue, type: RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeoutMilliseconds: timeoutMilliseconds + 5_000, what: "create topics"
        ) { (event) throws(KafkaError) -> [String] in
            var count = 0
            // The results belong to the event.
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

    /// The cluster's topics and their partition counts, sorted by name.
    func topics(timeoutMilliseconds: Int) throws(KafkaError) -> [KafkaAdmin.TopicMetadata] {
        client.drainMainQueue()
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(client.handle, 1, nil, &metadata, Int32(timeoutMilliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code == RD_KAFKA_RESP_ERR__TIMED_OUT ? .timeout : .admin,
                             "metadata: \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue, isRetriable: true)
        }
        // Ownership: the metadata is ours to destroy.
        defer { rd_kafka_metadata_destroy(metadata) }
        return (0..<Int(metadata.pointee.topic_cnt)).map { index in
            let topic = metadata.pointee.topics[index]
            return KafkaAdmin.TopicMetadata(name: String(cString: topic.topic), partitionCount: Int(topic.partition_cnt))
        }.sorted { $0.name < $1.name }
    }

    /// Low and high watermarks of one partition, asked of its leader.
    func watermarks(of partition: KafkaTopicPartition, timeoutMilliseconds: Int) throws(KafkaError) -> KafkaAdmin.Watermarks {
        client.drainMainQueue()
        var low: Int64 = 0
        var high: Int64 = 0
        let code = rd_kafka_query_watermark_offsets(client.handle, partition.topic, partition.partition, &low, &high, Int32(timeoutMilliseconds))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.admin, "watermarks of \(partition): \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue, isRetriable: true)
        }
        return KafkaAdmin.Watermarks(low: low, high: high)
    }

    /// A consumer group's committed next-read positions, for every partition it has committed.
    func committedOffsets(group: String, timeoutMilliseconds: Int) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        client.drainMainQueue()
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let resultQueue = RDKafkaQueue.new(of: client)
        let options = rd_kafka_AdminOptions_new(client.handle, RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPOFFSETS)
        defer { rd_kafka_AdminOptions_destroy(options) }
        rd_kafka_AdminOptions_set_request_timeout(options, Int32(timeoutMilliseconds), &errorBuffer, errorBuffer.count)
        // Ownership: the request is ours; librdkafka copies it.
        var request: OpaquePointer? = rd_kafka_ListConsumerGroupOffsets_new(group, nil)
        defer { rd_kafka_ListConsumerGroupOffsets_destroy(request) }
        resultQueue.withPointer { queue in
            rd_kafka_ListConsumerGroupOffsets(client.handle, &request, 1, options, queue)
        }
        return try Self.awaitResult(
            on: resultQueue, type: RD_KAFKA_EVENT_LISTCONSUMERGROUPOFFSETS_RESULT,
            timeoutMilliseconds: timeoutMilliseconds + 5_000, what: "committed offsets of \(group)"
        ) { (event) throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            var count = 0
            // The group results and their partition lists belong to the event.
            let groups = rd_kafka_ListConsumerGroupOffsets_result_groups(rd_kafka_event_ListConsumerGroupOffsets_result(event), &count)!
            var positions: [KafkaTopicPartition: Int64] = [:]
            for index in 0..<count {
                let result = groups[index]
                if let error = rd_kafka_group_result_error(result) {
                    throw KafkaError(.admin, "committed offsets of \(group): \(String(cString: rd_kafka_error_string(error)))",
                                     librdkafkaCode: rd_kafka_error_code(error).rawValue)
                }
                if let list = rd_kafka_group_result_partitions(result) {
                    positions.merge(RDKafkaTopicPartitionList.positions(of: list, where: { $0 >= 0 })) { _, new in new }
                }
            }
            return positions
        }
    }

    /// Waits for an admin result on its private queue and hands it to `body`;
    /// the event is destroyed when `body` returns.
    private static func awaitResult<R>(
        on queue: RDKafkaQueue, type: Int32, timeoutMilliseconds: Int, what: String,
        _ body: (OpaquePointer) throws(KafkaError) -> R
    ) throws(KafkaError) -> R {
        let answer = try queue.poll(timeoutMilliseconds: Int32(timeoutMilliseconds)) { (event) throws(KafkaError) -> R in
            let code = rd_kafka_event_error(event)
            if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                let text = String(cString: rd_kafka_event_error_string(event))
                throw KafkaError(code == RD_KAFKA_RESP_ERR__TIMED_OUT ? .timeout : .admin, "\(what): \(text)",
                                 librdkafkaCode: code.rawValue, isRetriable: code == RD_KAFKA_RESP_ERR__TIMED_OUT)
            }
            guard rd_kafka_event_type(event) == type else {
                throw KafkaError(.admin, "\(what): unexpected answer")
            }
            return try body(event)
        }
        guard let answer else {
            throw KafkaError(.timeout, "\(what): no answer within \(timeoutMilliseconds) ms", isRetriable: true)
        }
        return answer
    }
}
