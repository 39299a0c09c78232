import CRdKafka
import Dispatch
import Logging
import NIOConcurrencyHelpers
import Synchronization

/// A consumer-group member that hands out messages in batches and commits only
/// what the application says it has processed.
///
/// All librdkafka calls of one consumer run on one serial dispatch queue,
/// never on Swift's cooperative pool: polling (which also serves rebalances
/// and logs), commits, pause/resume and close. Because rebalances are served
/// only inside ``nextBatch(maxMessages:maxWaitMilliseconds:)``, the partitions
/// a batch came from are owned until the next call; ``commit(_:)`` drops
/// positions of partitions that were revoked meanwhile.
public final class KafkaConsumer: Sendable {
    private let client: RDKafkaClient
    private let queue: QueueHandle
    private let serial = DispatchQueue(label: "casehub.kafka.consumer")
    private let state = NIOLockedValueBox(ConsumerState())

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        client = try RDKafkaClient(
            kind: .consumer,
            properties: configuration.librdkafkaProperties(),
            events: RD_KAFKA_EVENT_REBALANCE | RD_KAFKA_EVENT_OFFSET_COMMIT,
            logger: logger
        )
        // Forward the main queue (logs, errors) to the consumer queue: one queue to poll.
        rd_kafka_poll_set_consumer(client.handle)
        queue = QueueHandle(rd_kafka_queue_get_consumer(client.handle)!)
    }

    deinit {
        rd_kafka_queue_destroy(queue.pointer)
    }

    /// Joins the group for these topics. Partitions arrive through rebalances
    /// served by ``nextBatch(maxMessages:maxWaitMilliseconds:)``.
    public func subscribe(topics: [String]) throws(KafkaError) {
        let list = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        defer { rd_kafka_topic_partition_list_destroy(list) }
        for topic in topics {
            rd_kafka_topic_partition_list_add(list, topic, -1)
        }
        let code = rd_kafka_subscribe(client.handle, list)
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.client, "subscribe to \(topics): \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
        }
    }

    /// Waits up to `maxWaitMilliseconds` and returns up to `maxMessages`
    /// messages, fewer (possibly none) when the time runs out. Returns as soon
    /// as at least one message is buffered and no more arrive immediately.
    public func nextBatch(maxMessages: Int, maxWaitMilliseconds: Int) async throws -> [KafkaMessage] {
        let client = self.client
        let queue = self.queue
        let state = self.state
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [KafkaMessage] in
            try Self.poll(client: client, queue: queue.pointer, state: state, maxMessages: maxMessages, maxWait: maxWaitMilliseconds)
        }
    }

    /// The partitions this member owns right now.
    public var assignment: Set<KafkaTopicPartition> {
        state.withLockedValue { $0.assigned }
    }

    /// Commits the positions after these processed messages (offset + 1 per
    /// partition), synchronously. Positions of partitions that are no longer
    /// assigned to this member are skipped: their new owner re-reads them.
    /// Returns the partitions that were committed.
    @discardableResult
    public func commit(_ messages: [KafkaMessage]) async throws -> Set<KafkaTopicPartition> {
        var next: [KafkaTopicPartition: Int64] = [:]
        for message in messages {
            let key = KafkaTopicPartition(topic: message.topic, partition: message.partition)
            next[key] = max(next[key] ?? 0, message.offset + 1)
        }
        return try await commit(positions: next)
    }

    /// Commits explicit next-read positions per partition.
    @discardableResult
    public func commit(positions: [KafkaTopicPartition: Int64]) async throws -> Set<KafkaTopicPartition> {
        let client = self.client
        let state = self.state
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> Set<KafkaTopicPartition> in
            let owned = state.withLockedValue { $0.assigned }
            let kept = positions.filter { owned.contains($0.key) }
            if kept.isEmpty { return [] }
            let list = TopicPartitionList(kept)
            defer { list.destroy() }
            let code = rd_kafka_commit(client.handle, list.pointer, 0)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(.commit, "commit: \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue,
                                 isRetriable: code == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS)
            }
            return Set(kept.keys)
        }
    }

    /// The group's committed next-read positions for these partitions.
    public func committed(_ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int = 10_000) async throws -> [KafkaTopicPartition: Int64] {
        let client = self.client
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            let list = TopicPartitionList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(-1001)) }))
            defer { list.destroy() }
            let code = rd_kafka_committed(client.handle, list.pointer, Int32(timeoutMilliseconds))
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(.admin, "committed offsets: \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
            }
            return list.positions().filter { $0.value >= 0 }
        }
    }

    /// Stops fetching from these partitions until ``resume(_:)``; they stay assigned.
    public func pause(_ partitions: [KafkaTopicPartition]) async throws {
        try await setPaused(partitions, paused: true)
    }

    public func resume(_ partitions: [KafkaTopicPartition]) async throws {
        try await setPaused(partitions, paused: false)
    }

    private func setPaused(_ partitions: [KafkaTopicPartition], paused: Bool) async throws {
        let client = self.client
        let state = self.state
        try await Blocking.run(on: serial) { () throws(KafkaError) in
            let list = TopicPartitionList(Dictionary(uniqueKeysWithValues: partitions.map { ($0, Int64(-1001)) }))
            defer { list.destroy() }
            let code = paused
                ? rd_kafka_pause_partitions(client.handle, list.pointer)
                : rd_kafka_resume_partitions(client.handle, list.pointer)
            guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(.client, "\(paused ? "pause" : "resume"): \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
            }
            state.withLockedValue { state in
                if paused { state.paused.formUnion(partitions) } else { state.paused.subtract(partitions) }
            }
        }
    }

    /// Leaves the group cleanly (revoking partitions at once instead of after a
    /// session timeout). Uncommitted positions are not committed.
    public func close() async {
        let client = self.client
        let queue = self.queue
        let state = self.state
        _ = try? await Blocking.run(on: serial) { () throws(KafkaError) in
            if state.withLockedValue({ $0.closed }) { return }
            if let error = rd_kafka_consumer_close_queue(client.handle, queue.pointer) {
                client.logger.warning("\(RDKafkaClient.consume(error: error, as: .client, "consumer close"))")
            }
            while rd_kafka_consumer_closed(client.handle) == 0 {
                _ = try? Self.poll(client: client, queue: queue.pointer, state: state, maxMessages: 0, maxWait: 100)
            }
            state.withLockedValue { $0.closed = true; $0.assigned.removeAll() }
        }
    }

    // MARK: polling (on the serial queue)

    private static func poll(
        client: RDKafkaClient, queue: OpaquePointer, state: NIOLockedValueBox<ConsumerState>,
        maxMessages: Int, maxWait: Int
    ) throws(KafkaError) -> [KafkaMessage] {
        var batch: [KafkaMessage] = []
        batch.reserveCapacity(min(maxMessages, 1024))
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(maxWait, 0)) * 1_000_000
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            // Once something is buffered, only take what is already waiting.
            let timeout: Int32 = batch.isEmpty && now < deadline ? Int32(min((deadline - now) / 1_000_000, 100)) : 0
            guard let event = rd_kafka_queue_poll(queue, timeout) else {
                if !batch.isEmpty || DispatchTime.now().uptimeNanoseconds >= deadline || maxMessages == 0 { return batch }
                continue
            }
            defer { rd_kafka_event_destroy(event) }
            switch rd_kafka_event_type(event) {
            case RD_KAFKA_EVENT_FETCH:
                while let message = rd_kafka_event_message_next(event) {
                    if let copied = try copy(message, client: client) { batch.append(copied) }
                }
            case RD_KAFKA_EVENT_REBALANCE:
                let revoked = try rebalance(event, client: client, state: state)
                // Buffered messages of revoked partitions belong to their next owner now.
                if !revoked.isEmpty {
                    batch.removeAll { revoked.contains(KafkaTopicPartition(topic: $0.topic, partition: $0.partition)) }
                }
            case RD_KAFKA_EVENT_OFFSET_COMMIT:
                break
            default:
                _ = try client.handleCommonEvent(event)
            }
            if batch.count >= maxMessages && maxMessages > 0 { return batch }
        }
    }

    /// Counts at info level; the full list at debug (a hub owns hundreds of partitions).
    private static func logRebalance(_ what: Logger.Message, _ partitions: Set<KafkaTopicPartition>, _ logger: Logger) {
        logger.info(what, metadata: [
            "kafka.partitions.count": "\(partitions.count)",
            "kafka.topics.count": "\(Set(partitions.map(\.topic)).count)",
        ])
        logger.debug(what, metadata: ["kafka.partitions": "\(partitions.sorted())"])
    }

    private static func copy(_ pointer: UnsafePointer<rd_kafka_message_t>, client: RDKafkaClient) throws(KafkaError) -> KafkaMessage? {
        let message = pointer.pointee
        if message.err != RD_KAFKA_RESP_ERR_NO_ERROR {
            if message.err == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            let text = String(cString: rd_kafka_err2str(message.err))
            if message.err == RD_KAFKA_RESP_ERR__FATAL {
                throw KafkaError(.fatal, "consumer: \(text)", librdkafkaCode: message.err.rawValue)
            }
            client.logger.warning("consumer: \(text)", metadata: ["librdkafka.code": "\(message.err.rawValue)"])
            return nil
        }
        let topic = String(cString: rd_kafka_topic_name(message.rkt))
        let value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) } ?? []
        let key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        var headers: [KafkaHeader] = []
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
    /// rebalance events are enabled. Returns the partitions revoked.
    private static func rebalance(_ event: OpaquePointer, client: RDKafkaClient, state: NIOLockedValueBox<ConsumerState>) throws(KafkaError) -> Set<KafkaTopicPartition> {
        let code = rd_kafka_event_error(event)
        let list = rd_kafka_event_topic_partition_list(event)!
        let partitions = Set(TopicPartitionList.partitions(of: list))
        let cooperative = String(cString: rd_kafka_rebalance_protocol(client.handle)) == "COOPERATIVE"
        switch code {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_assign(client.handle, list) {
                    throw RDKafkaClient.consume(error: error, as: .client, "incremental assign")
                }
                state.withLockedValue { $0.assigned.formUnion(partitions) }
            } else {
                let result = rd_kafka_assign(client.handle, list)
                guard result == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError(.client, "assign: \(RDKafkaClient.errorString(result))", librdkafkaCode: result.rawValue)
                }
                state.withLockedValue { $0.assigned = partitions }
            }
            Self.logRebalance("partitions assigned", partitions, client.logger)
            return []
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            if cooperative {
                if let error = rd_kafka_incremental_unassign(client.handle, list) {
                    throw RDKafkaClient.consume(error: error, as: .client, "incremental unassign")
                }
            } else {
                _ = rd_kafka_assign(client.handle, nil)
            }
            state.withLockedValue { state in
                state.assigned.subtract(partitions)
                state.paused.subtract(partitions)
            }
            Self.logRebalance("partitions revoked", partitions, client.logger)
            return partitions
        default:
            _ = rd_kafka_assign(client.handle, nil)
            let revoked = state.withLockedValue { state in
                defer { state.assigned.removeAll() }
                return state.assigned
            }
            client.logger.error("rebalance error: \(RDKafkaClient.errorString(code))")
            return revoked
        }
    }
}

struct ConsumerState {
    var assigned: Set<KafkaTopicPartition> = []
    var paused: Set<KafkaTopicPartition> = []
    var closed = false
}

/// A librdkafka queue handle; queues are thread safe.
struct QueueHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// An owned `rd_kafka_topic_partition_list_t`; call ``destroy()`` when done.
struct TopicPartitionList {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ positions: [KafkaTopicPartition: Int64]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(positions.count))!
        for (partition, offset) in positions.sorted(by: { $0.key < $1.key }) {
            let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)!
            element.pointee.offset = offset
        }
    }

    func destroy() { rd_kafka_topic_partition_list_destroy(pointer) }

    func positions() -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for index in 0..<Int(pointer.pointee.cnt) {
            let element = pointer.pointee.elems[index]
            result[KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
        }
        return result
    }

    static func partitions(of list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        (0..<Int(list.pointee.cnt)).map { index in
            let element = list.pointee.elems[index]
            return KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }
    }
}
