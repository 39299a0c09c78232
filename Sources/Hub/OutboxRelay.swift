import Backoff
public import CaseHubMetrics
import CaseModel
import CloudEventsKafka
public import HubStore
public import Kafka
public import Logging
public import ServiceLifecycle

/// Publishes outbox records to Kafka in id order and marks them sent. Only
/// one relay publishes at a time (transaction-scoped advisory lock); after a
/// crash the next round resends what was not marked, and receivers
/// deduplicate by event id.
public final class OutboxRelay: Service, Sendable {
    private let configuration: HubConfiguration
    private let store: HubStore
    private let producer: KafkaProducer
    private let wakeup: Wakeup
    private let metrics: CaseHubMetrics?
    private let logger: Logger

    public init(configuration: HubConfiguration, store: HubStore, producer: KafkaProducer, wakeup: Wakeup,
                metrics: CaseHubMetrics? = nil, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.producer = producer
        self.wakeup = wakeup
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A round that fails (broker or database away) is tried again, waiting longer each time.
            guard let marked = await retryWithBackoff("outbox relay round", logger: logger, { try await relayOnce() }) else { break }
            if let marked, marked > 0 { metrics?.published(marked) }
            if marked ?? 0 < configuration.relayBatchSize {
                await wakeup.wait(timeout: .milliseconds(configuration.relayPollMilliseconds))
            }
        }
        // The producer is not the relay's: its owner flushes and shuts it down.
    }

    /// One round: publishes up to a batch; returns how many were marked sent
    /// (nil when another instance holds the relay lock).
    @discardableResult
    public func relayOnce() async throws -> Int? {
        try await store.relayOutbox(limit: configuration.relayBatchSize) { pending in
            let messages = pending.map { item in
                KafkaOutgoingMessage(topic: item.record.topic, key: item.record.key, headers: item.record.headers, value: item.record.value)
            }
            let results = try await producer.sendBatch(messages)
            // Mark only the delivered prefix, so that a failure never lets a
            // later record of the same case overtake an earlier one.
            var sent: [Int64] = []
            for (item, result) in zip(pending, results) {
                if case .failure(let error) = result {
                    logger.warning("outbox record not delivered; will retry", metadata: ["outbox.id": "\(item.id)", "error": "\(error)"])
                    break
                }
                sent.append(item.id)
            }
            return sent
        }
    }
}
