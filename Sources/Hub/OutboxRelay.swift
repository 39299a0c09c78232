import Backoff
public import CaseHubMetrics
import CaseModel
import CloudEventsKafka
import Foundation
public import HubStore
public import Kafka
public import Logging
public import ServiceLifecycle

/// Publishes the outbox to Kafka: ``HubConfiguration/relayWorkers`` relays in
/// this process, each holding a fair share of the outbox shards under a lease
/// shared with every other hub process's relays (``HubStore/relayRound``).
/// Within a shard records go in order; shards go in parallel. After a crash
/// the shard's next holder resends what was not marked, and receivers
/// deduplicate by event id. A record that fails for good is parked for an
/// administrator and only its case's later records wait behind it.
public final class OutboxRelay: Service, Sendable {
    private let configuration: HubConfiguration
    private let store: HubStore
    private let producer: KafkaProducer
    private let wakeup: Wakeup
    /// Signs what goes to agencies' `to.` topics.
    private let signer: DeliverySigner
    private let keys: HubKeyStore
    private let metrics: CaseHubMetrics?
    private let logger: Logger
    /// This process's relays, by the name they hold leases under.
    let workers: [Worker]

    public init(configuration: HubConfiguration, store: HubStore, producer: KafkaProducer, wakeup: Wakeup,
                signer: DeliverySigner, keys: HubKeyStore, metrics: CaseHubMetrics? = nil, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.producer = producer
        self.wakeup = wakeup
        self.signer = signer
        self.keys = keys
        self.metrics = metrics
        self.logger = logger
        let process = "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().uuidString.prefix(8))"
        workers = (0..<max(1, configuration.relayWorkers)).map { Worker(holder: "\(process)/\($0)") }
    }

    /// One relay's identity and the wake-up it waits on.
    struct Worker: Sendable {
        let holder: String
        let wakeup = Wakeup()
    }

    public func run() async throws {
        // The adapters learn the key from the database before anything signed with it arrives.
        guard await retryWithBackoff("recording the hub's delivery key", logger: logger, { try await signer.record(in: keys) }) != nil else { return }
        await withDiscardingTaskGroup { group in
            // One commit wakes every relay: each holds other shards.
            group.addTask { [wakeup, workers] in
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    await wakeup.wait(timeout: .seconds(1))
                    for worker in workers { worker.wakeup.signal() }
                }
            }
            for worker in workers {
                group.addTask { await self.run(worker) }
            }
            try? await gracefulShutdown()
            // The relays finish their round, release their shards and stop.
            for worker in workers { worker.wakeup.signal() }
        }
        // The producer is not the relay's: its owner flushes and shuts it down.
    }

    private func run(_ worker: Worker) async {
        let lease = Duration.milliseconds(configuration.relayLeaseMilliseconds)
        let rebalanceEvery = Duration.milliseconds(configuration.relayRebalanceMilliseconds)
        var lastRebalance: ContinuousClock.Instant?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            if lastRebalance.map({ ContinuousClock.now - $0 >= rebalanceEvery }) ?? true {
                await retryWithBackoff("outbox relay lease", logger: logger) {
                    try await store.rebalanceOutboxShards(holder: worker.holder, lease: lease)
                }
                lastRebalance = .now
            }
            // A round that fails (broker or database away) is tried again, waiting longer each time.
            guard let summary = await retryWithBackoff("outbox relay round", logger: logger, { try await relayOnce(as: worker.holder) }) else { break }
            if let summary {
                if summary.published > 0 { metrics?.published(summary.published) }
                if summary.parked > 0 { metrics?.parked(summary.parked) }
                if summary.more { continue }
            }
            await worker.wakeup.wait(timeout: summary == nil ? rebalanceEvery : .milliseconds(configuration.relayPollMilliseconds))
        }
        // Hand the shards over at once rather than when the leases run out.
        do {
            try await store.releaseOutboxShards(holder: worker.holder)
        } catch {
            logger.warning("outbox leases not released; they run out by themselves", metadata: ["relay": "\(worker.holder)", "error": "\(error)"])
        }
    }

    /// One round of one relay: what it published and parked (nil when it
    /// holds no shard).
    @discardableResult
    public func relayOnce(as holder: String) async throws -> HubStore.RelayRoundSummary? {
        try await store.relayRound(
            holder: holder, lease: .milliseconds(configuration.relayLeaseMilliseconds), limit: configuration.relayBatchSize
        ) { pending in
            try await publish(pending)
        }
    }

    /// Sends the records; one that fails for good is tried alone again, up
    /// to the configured number of attempts, before it is reported permanent.
    private func publish(_ pending: [HubStore.PendingOutboxRecord]) async throws -> [HubStore.PublishOutcome] {
        let results = try await producer.sendBatch(pending.map(message), keepingKeyOrder: true)
        var outcomes: [HubStore.PublishOutcome] = []
        outcomes.reserveCapacity(pending.count)
        for (item, result) in zip(pending, results) {
            switch result {
            case .success:
                outcomes.append(.published)
            case .failure(let error) where error.isPermanentDeliveryFailure:
                outcomes.append(try await retryAlone(item, firstError: error))
            case .failure(let error):
                logger.debug("outbox record not delivered; will retry", metadata: ["outbox.record": "\(item.position)", "error": "\(error)"])
                outcomes.append(.failed(reason: error.message, permanent: false, attempts: 1))
            }
        }
        return outcomes
    }

    private func retryAlone(_ item: HubStore.PendingOutboxRecord, firstError: KafkaError) async throws -> HubStore.PublishOutcome {
        var error = firstError
        var attempts = 1
        while attempts < max(1, configuration.relayParkAfterAttempts) {
            attempts += 1
            switch try await producer.sendBatch([message(item)])[0] {
            case .success: return .published
            case .failure(let again) where again.isPermanentDeliveryFailure: error = again
            case .failure(let again): return .failed(reason: again.message, permanent: false, attempts: attempts)
            }
        }
        logger.error("outbox record parked: it cannot be published", metadata: [
            "outbox.record": "\(item.position)", "topic": "\(item.record.topic)", "attempts": "\(attempts)", "error": "\(error.message)",
        ])
        return .failed(reason: error.message, permanent: true, attempts: attempts)
    }

    private func message(_ item: HubStore.PendingOutboxRecord) -> KafkaOutgoingMessage {
        signer.signed(KafkaOutgoingMessage(topic: item.record.topic, key: item.record.key, headers: item.record.headers, value: item.record.value))
    }
}
