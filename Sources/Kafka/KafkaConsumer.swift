import Dispatch
public import Logging
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
    private let consumer: RDKafkaConsumer
    private let serial = DispatchQueue(label: "casehub.kafka.consumer")
    private let state = NIOLockedValueBox(ConsumerState())

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) throws(KafkaError) {
        consumer = try RDKafkaConsumer(properties: configuration.librdkafkaProperties(), logger: logger)
    }

    /// Joins the group for these topics. Partitions arrive through rebalances
    /// served by ``nextBatch(maxMessages:maxWaitMilliseconds:)``.
    public func subscribe(topics: [String]) throws(KafkaError) {
        try consumer.subscribe(topics: topics)
    }

    /// Waits up to `maxWaitMilliseconds` and returns up to `maxMessages`
    /// messages, fewer (possibly none) when the time runs out. Returns as soon
    /// as at least one message is buffered and no more arrive immediately.
    public func nextBatch(maxMessages: Int, maxWaitMilliseconds: Int) async throws -> [KafkaMessage] {
        let consumer = self.consumer
        let state = self.state
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [KafkaMessage] in
            try Self.poll(consumer, state: state, maxMessages: maxMessages, maxWait: maxWaitMilliseconds)
        }
    }

    /// The partitions this member owns right now.
    public var assignment: Set<KafkaTopicPartition> {
        state.withLockedValue { $0.assigned }
    }

    /// Commits the positions after these processed messages (offset + 1 per
    /// partition). Positions of partitions that are no longer assigned to
    /// this member are skipped: their new owner re-reads them. Returns the
    /// partitions that were committed.
    ///
    /// `waitForBroker` false hands the commit to librdkafka and returns at
    /// once (its outcome is logged when it comes): for a consumer whose
    /// re-reads are harmless, so that committing does not hold up the next
    /// batch by a round trip to the broker.
    @discardableResult
    public func commit(_ messages: [KafkaMessage], waitForBroker: Bool = true) async throws -> Set<KafkaTopicPartition> {
        var next: [KafkaTopicPartition: Int64] = [:]
        for message in messages {
            let key = KafkaTopicPartition(topic: message.topic, partition: message.partition)
            next[key] = max(next[key] ?? 0, message.offset + 1)
        }
        return try await commit(positions: next, waitForBroker: waitForBroker)
    }

    /// Commits explicit next-read positions per partition.
    @discardableResult
    public func commit(positions: [KafkaTopicPartition: Int64], waitForBroker: Bool = true) async throws -> Set<KafkaTopicPartition> {
        let consumer = self.consumer
        let state = self.state
        let commit = { @Sendable () throws(KafkaError) -> Set<KafkaTopicPartition> in
            let owned = state.withLockedValue { $0.assigned }
            let kept = positions.filter { owned.contains($0.key) }
            if kept.isEmpty { return [] }
            try consumer.commit(kept, waiting: waitForBroker)
            return Set(kept.keys)
        }
        // Handing a commit to librdkafka does not block (and librdkafka is
        // thread-safe): it need not queue behind a poll of the next batch.
        if !waitForBroker { return try commit() }
        return try await Blocking.run(on: serial, commit)
    }

    /// The group's committed next-read positions for these partitions.
    public func committed(_ partitions: [KafkaTopicPartition], timeoutMilliseconds: Int = 10_000) async throws -> [KafkaTopicPartition: Int64] {
        let consumer = self.consumer
        return try await Blocking.run(on: serial) { () throws(KafkaError) -> [KafkaTopicPartition: Int64] in
            try consumer.committed(partitions, timeoutMilliseconds: Int32(timeoutMilliseconds))
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
        let consumer = self.consumer
        let state = self.state
        try await Blocking.run(on: serial) { () throws(KafkaError) in
            try consumer.setPaused(partitions, paused: paused)
            state.withLockedValue { state in
                if paused { state.paused.formUnion(partitions) } else { state.paused.subtract(partitions) }
            }
        }
    }

    /// Leaves the group cleanly (revoking partitions at once instead of after a
    /// session timeout). Uncommitted positions are not committed.
    public func close() async {
        let consumer = self.consumer
        let state = self.state
        _ = try? await Blocking.run(on: serial) { () throws(KafkaError) in
            if state.withLockedValue({ $0.closed }) { return }
            if let error = consumer.close() {
                consumer.logger.warning("\(error)")
            }
            while !consumer.isClosed {
                _ = try? Self.poll(consumer, state: state, maxMessages: 0, maxWait: 100)
            }
            state.withLockedValue { $0.closed = true; $0.assigned.removeAll() }
        }
    }

    // MARK: polling (on the serial queue)

    private static func poll(
        _ consumer: RDKafkaConsumer, state: NIOLockedValueBox<ConsumerState>, maxMessages: Int, maxWait: Int
    ) throws(KafkaError) -> [KafkaMessage] {
        var batch: [KafkaMessage] = []
        batch.reserveCapacity(min(maxMessages, 1024))
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(maxWait, 0)) * 1_000_000
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            // Once something is buffered, only take what is already waiting.
            // The wait rounds up to whole milliseconds: rounding down would
            // poll with 0 in a busy loop for the last fraction of a millisecond.
            let timeout: Int32 = batch.isEmpty && now < deadline ? Int32(min((deadline - now + 999_999) / 1_000_000, 100)) : 0
            guard let event = try consumer.poll(timeoutMilliseconds: timeout) else {
                if !batch.isEmpty || DispatchTime.now().uptimeNanoseconds >= deadline || maxMessages == 0 { return batch }
                continue
            }
            switch event {
            case .messages(let messages):
                batch += messages
            case .assigned(let partitions, let incremental):
                state.withLockedValue { state in
                    if incremental { state.assigned.formUnion(partitions) } else { state.assigned = partitions }
                }
                logRebalance("partitions assigned", partitions, consumer.logger)
            case .revoked(let partitions):
                state.withLockedValue { state in
                    state.assigned.subtract(partitions)
                    state.paused.subtract(partitions)
                }
                logRebalance("partitions revoked", partitions, consumer.logger)
                // Buffered messages of revoked partitions belong to their next owner now.
                dropMessages(of: partitions, from: &batch)
            case .rebalanceFailed(let reason):
                let revoked = state.withLockedValue { state in
                    defer { state.assigned.removeAll() }
                    return state.assigned
                }
                consumer.logger.error("rebalance error: \(reason)")
                dropMessages(of: revoked, from: &batch)
            case .served:
                break
            }
            if batch.count >= maxMessages && maxMessages > 0 { return batch }
        }
    }

    private static func dropMessages(of partitions: Set<KafkaTopicPartition>, from batch: inout [KafkaMessage]) {
        if !partitions.isEmpty {
            batch.removeAll { partitions.contains(KafkaTopicPartition(topic: $0.topic, partition: $0.partition)) }
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
}

struct ConsumerState {
    var assigned: Set<KafkaTopicPartition> = []
    var paused: Set<KafkaTopicPartition> = []
    var closed = false
}
