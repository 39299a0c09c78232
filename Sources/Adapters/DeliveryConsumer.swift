import Backoff
public import CaseHubMetrics
public import CaseModel
import CloudEventsKafka
import Foundation
public import HubStore
public import Kafka
public import Logging
public import ServiceLifecycle

/// Consumes `to.<agency>` topics and stores each event in the agency's inbox
/// (PostgreSQL) before committing offsets: a restart re-reads at most what
/// was not yet stored, and the store skips what it already has. Only records
/// the hub signed are stored; anything else is refused and reported
/// (``DeliveryVerification``).
public final class DeliveryConsumer: Service, Sendable {
    private let agencies: [AgencyID]
    private let topics: TopicNames
    private let store: DeliveryStore
    private let verification: DeliveryVerification
    private let metrics: CaseHubMetrics?
    private let consumer: KafkaConsumer
    private let delivered: Wakeup
    /// The hub's clock: a delivery's storing is the hub's record of it, and of a service.
    private let clock: HubClock
    private let logger: Logger

    public init(agencies: [AgencyID], topics: TopicNames, store: DeliveryStore, verification: DeliveryVerification,
                consumer: KafkaConsumer, delivered: Wakeup, clock: HubClock = .system, metrics: CaseHubMetrics? = nil, logger: Logger) {
        self.clock = clock
        self.metrics = metrics
        self.agencies = agencies
        self.topics = topics
        self.store = store
        self.verification = verification
        self.consumer = consumer
        self.delivered = delivered
        self.logger = logger
    }

    /// The consumer group for a set of agencies: one group per standalone
    /// adapter, one shared group when a process serves them all.
    public static func groupID(for agencies: [AgencyID], topics: TopicNames) -> String {
        agencies.count == 1 ? "\(topics.prefix)-adapter-\(agencies[0])" : "\(topics.prefix)-adapters"
    }

    public func run() async throws {
        try consumer.subscribe(topics: agencies.map(topics.to))
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let batch = try await consumer.nextBatch(maxMessages: 500, maxWaitMilliseconds: 50)
            if batch.isEmpty { continue }
            var events: [DeliveryStore.Incoming] = []
            var admitted: [KafkaMessage] = []
            var shuttingDown = false
            for message in batch {
                guard let agency = topics.recipient(ofTopic: message.topic) else { continue }
                guard let genuine = await verification.admits(message, for: agency) else {
                    shuttingDown = true
                    break
                }
                guard genuine else { continue }
                admitted.append(message)
                do {
                    // Read (and so checked) once; the payload is stored as the record carried it.
                    let event = try message.cloudEvent()
                    events.append(DeliveryStore.Incoming(agency: agency, event: event, structuredJSON: event.structuredBytes(dataBytes: message.value),
                                                         serves: message.headers.contains { $0.key == OutboxRecord.servesHeader }))
                } catch {
                    // The hub wrote it; an unreadable record is a bug to see, not to block on.
                    logger.error("undecodable delivery skipped", metadata: ["kafka.topic": "\(message.topic)", "kafka.offset": "\(message.offset)", "error": "\(error)"])
                }
            }
            // Shutting down: not committed, so read again by the next owner.
            if shuttingDown { break }
            let stored = await retryWithBackoff("storing deliveries", logger: logger) { try await store.store(events, at: clock.now) }
            guard stored != nil else { break }
            // Readable from now on: wake the inbox's waiters before the
            // offset commit's round trip to the broker, not after it.
            delivered.signal()
            recordEndToEndLatency(of: admitted)
            do {
                try await consumer.commit(batch)
            } catch let error as KafkaError where !error.isFatal {
                // Stored already; a re-read is skipped by the store.
                logger.warning("offsets not committed; the deliveries are stored and a re-read is skipped", metadata: ["error": "\(error)"])
            }
        }
        await consumer.close()
    }

    /// Stored now: how long since the sender's adapter produced each event
    /// (the hub's `casehub_submitted_at` header; absent on the hub's own notices).
    private func recordEndToEndLatency(of batch: [KafkaMessage]) {
        guard let metrics else { return }
        let now = Date().timeIntervalSince1970
        for message in batch {
            guard let text = message.headers.first(where: { $0.key == OutboxRecord.submittedAtHeader })?.stringValue,
                  let produced = Double(text) else { continue }
            metrics.delivered(after: now - produced / 1000)
        }
    }
}
