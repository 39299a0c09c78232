import CRdKafka
import Logging

/// A group consumer's librdkafka side: its client and its consumer queue.
///
/// Every method blocks and none is synchronised: ``KafkaConsumer`` calls them
/// from its one serial dispatch queue, never from Swift's cooperative pool.
/// Errors are copied into ``KafkaError`` in the call that failed.
final class RDKafkaConsumer: @unchecked Sendable {
    /// What one poll of the consumer queue brought, already served here.
    enum Event {
        /// Messages of one fetch, copied out of librdkafka's memory.
        case messages([KafkaMessage])
        /// Partitions now assigned. `incremental` (cooperative protocol): added
        /// to what the member owns; otherwise they replace it.
        case assigned(Set<KafkaTopicPartition>, incremental: Bool)
        /// Partitions taken away from this member.
        case revoked(Set<KafkaTopicPartition>)
        /// The rebalance failed: every partition was unassigned. Carries librdkafka's reason.
        case rebalanceFailed(String)
        /// A log line, an error or a commit result: nothing for the owner to do.
        case served
    }

    private let client: RDKafkaClient
    private let queue: RDKafkaQueue

    var logger: Logger { client.logger }

    init(properties: [String: String], logger: Logger) throws(KafkaError) {
        client = try RDKafkaClient(
            kind: .consumer,
            properties: properties,
            events: RD_KAFKA_EVENT_REBALANCE | RD_KAFKA_EVENT_OFFSET_COMMIT,
            logger: logger
        )
        // Forward the main queue (logs, errors) to the consumer queue: one queue to poll.
        rd_kafka_poll_set_consumer(client.handle)
        queue = .consumer(of: client)
    }

    func subscribe(topics: [String]) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(topics: topics)
        let code = list.withPointer { rd_kafka_subscribe(client.handle, $0) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.client, "subscribe to \(topics): \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
        }
    }

    /// Waits up to `timeoutMilliseconds` for one event and serves it; nil when none came.
    /// Rebalances are applied here, before this returns.
    func poll(timeoutMilliseconds: Int32) throws(KafkaError) -> Event? {
        try queue.poll(timeoutMilliseconds: timeoutMilliseconds) { (event) throws(KafkaError) -> Event in
            switch rd_kafka_event_type(event) {
            case RD_KAFKA_EVENT_FETCH:
                var messages: [KafkaMessage] = []
                while let message = rd_kafka_event_message_next(event) {
                    if let copied = try copy(message) { messages.append(copied) }
                }
                return .messages(messages)
            case RD_KAFKA_EVENT_REBALANCE:
                return try rebalance(event)
            case RD_KAFKA_EVENT_OFFSET_COMMIT:
                // The outcome of a commit not waited for: a failure only means a re-read.
                let code = rd_kafka_event_error(event)
                if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                    client.logger.warning("offsets not committed; the next owner re-reads from the last committed", metadata: [
                        "error": "\(RDKafkaClient.errorString(code))",
                    ])
                }
                return .served
            default:
                _ = try client.handleCommonEvent(event)
                return .served
            }
        }
    }

    /// Commits these next-read positions: synchronously, or (`waiting`
    /// false) handed to librdkafka, whose answer comes back as an event on
    /// the consumer's queue.
    func commit(_ positions: [KafkaTopicPartition: Int64], waiting: Bool = true) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(positions)
        let code = list.withPointer { rd_kafka_commit(client.handle, $0, waiting ? 0 : 1) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.commit, "commit: \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue,
                             isRetriable: code == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
        }
    }

    /// The group's committed next-read positions for these partitions; those with none are left out.
    func committed(_ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int32) throws(KafkaError) -> [KafkaTopicPartition: Int64] {
        let list = RDKafkaTopicPartitionList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, RDKafkaTopicPartitionList.noOffset) }))
        let code = list.withPointer { rd_kafka_committed(client.handle, $0, timeoutMilliseconds) }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.admin, "committed offsets: \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
        }
        return list.positions().filter { $0.value >= 0 }
    }

    /// Pauses or resumes fetching from these partitions.
    func setPaused(_ partitions: [KafkaTopicPartition], paused: Bool) throws(KafkaError) {
        let list = RDKafkaTopicPartitionList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, RDKafkaTopicPartitionList.noOffset) }))
        let code = list.withPointer { pointer in
            paused ? rd_kafka_pause_partitions(client.handle, pointer) : rd_kafka_resume_partitions(client.handle, pointer)
        }
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.client, "\(paused ? "pause" : "resume"): \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
        }
    }

    /// Starts leaving the group; the owner then polls until ``isClosed``.
    /// Returns the error librdkafka gave, if any.
    func close() -> KafkaError? {
        let error = queue.withPointer { rd_kafka_consumer_close_queue(client.handle, $0) }
        // Ownership: the rd_kafka_error_t is ours; consume(error:) destroys it.
        return error.map { RDKafkaClient.consume(error: $0, as: .client, "consumer close") }
    }

    /// Whether the close started by ``close()`` is complete.
    var isClosed: Bool { rd_kafka_consumer_closed(client.handle) != 0 }

    // MARK: serving one event (the event is valid only during these calls)

    private func copy(_ pointer: UnsafePointer<rd_kafka_message_t>) throws(KafkaError) -> KafkaMessage? {
        let message = pointer.pointee
        if message.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            let text = RDKafkaClient.errorString(message.err)
            if message.err == RD_KAFKA_RESP_ERR__FATAL {
                throw KafkaError(.fatal, "consumer: \(text)", librdkafkaCode: message.err.rawValue)
            }
            logger.warning("consumer: \(text)", metadata: ["librdkafka.code": "\(message.err.rawValue)"])
            return nil
        }
        let topic = String(cString: rd_kafka_topic_name(message.rkt))
        let value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) } ?? []
        let key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        var headers: [KafkaHeader] = []
        // The header list belongs to the message: read, never freed here.
        var headerList: OpaquePointer?
        if rd_kafka_message_headers(pointer, &headerList) == RD_KAFKA_RESP_ERR_NO_ERROR, let headerList {
            var index = 0
            var name: UnsafePointer<CChar>?
            var bytes: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(headerList, index, &name, &bytes, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let headerValue = bytes.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append(KafkaHeader(key: String(cString: name!), value: headerValue))
                index += 1
            }
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(pointer, &timestampType)
        return KafkaMessage(
            topic: topic, partition: message.partition, offset: message.offset,
            key: key, value: value, headers: headers,
            timestampMilliseconds: timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : timestamp
        )
    }

    /// Applies a rebalance: librdkafka leaves (un)assignment to us when
    /// rebalance events are enabled.
    private func rebalance(_ event: OpaquePointer) throws(KafkaError) -> Event {
        let code = rd_kafka_event_error(event)
        // The list belongs to the event.
        let list = rd_kafka_event_topic_partition_list(event)!
        let partitions = Set(RDKafkaTopicPartitionList.partitions(of: list))
        let cooperative = String(cString: rd_kafka_rebalance_protocol(client.handle)) == "COOPERATIVE"
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(client.handle, list) {
                    throw RDKafkaClient.consume(error: error, as: .client, "incremental assign")
                }
            } else {
                let result = rd_kafka_assign(client.handle, list)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError(.client, "assign: \(RDKafkaClient.errorString(result))", librdkafkaCode: result.rawValue)
                }
            }
            return .assigned(partitions, incremental: cooperative)
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_unassign(client.handle, list) {
                    throw RDKafkaClient.consume(error: error, as: .client, "incremental unassign")
                }
            } else {
                _ = rd_kafka_assign(client.handle, nil)
            }
            return .revoked(partitions)
        default:
            _ = rd_kafka_assign(client.handle, nil)
            return .rebalanceFailed(RDKafkaClient.errorString(code))
        }
    }
}
