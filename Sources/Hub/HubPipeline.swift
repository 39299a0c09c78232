import Backoff
public import CaseHubMetrics
public import CaseModel
public import HubStore
public import Kafka
public import Logging
public import ServiceLifecycle

/// Consumes every `from.<agency>` topic and applies each batch in one
/// PostgreSQL transaction before committing the batch's Kafka offsets. A
/// crash between the two replays the batch, which the inbox absorbs.
///
/// This type runs the loop and overlaps its two stages; the work is done by
/// ``EventScreener`` (checks that need no lock) and ``BatchApplier`` (the
/// transaction), with ``RefusalRecorder`` and ``Router`` writing what a
/// refused or an accepted event leaves behind.
public final class HubPipeline: Service, Sendable {
    private let configuration: HubConfiguration
    private let registry: AgencyRegistry
    private let consumer: KafkaConsumer
    private let relayWakeup: Wakeup
    private let metrics: CaseHubMetrics?
    private let logger: Logger
    let screener: EventScreener
    let applier: BatchApplier

    public init(configuration: HubConfiguration, registry: AgencyRegistry, store: HubStore,
                consumer: KafkaConsumer, relayWakeup: Wakeup, keyring: AgencyKeyring, metrics: CaseHubMetrics? = nil, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.consumer = consumer
        self.relayWakeup = relayWakeup
        self.metrics = metrics
        self.logger = logger
        let catalogue = EventCatalogue.standard
        screener = EventScreener(topics: configuration.topics, registry: registry, keyring: keyring, catalogue: catalogue, clock: configuration.clock)
        applier = BatchApplier(
            store: store, machine: CaseMachine(registry: registry, rules: configuration.deadlineRules), catalogue: catalogue,
            router: Router(topics: configuration.topics, hubSource: configuration.hubSource),
            refusals: RefusalRecorder(topics: configuration.topics, registry: registry, hubSource: configuration.hubSource, logger: logger),
            clock: configuration.clock, metrics: metrics, logger: logger)
    }

    public func run() async throws {
        try consumer.subscribe(topics: registry.all.map { configuration.topics.from($0.id) })
        logger.info("hub pipeline consuming", metadata: ["kafka.group": "\(configuration.groupID)", "agencies": "\(registry.all.count)"])
        // Two stages overlap: while one batch's transaction runs, the next
        // batch is fetched and screened (envelope, signature, schema: CPU
        // work that needs no lock), so the database and the CPU both stay busy.
        var current = try await fetchAndScreen()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            async let following = fetchAndScreen()
            if !current.isEmpty {
                let started = ContinuousClock.now
                let batch = current
                // Until it succeeds (the database may be restarting) or the hub
                // shuts down, leaving the offsets uncommitted for the next owner.
                let applied: Void? = await retryWithBackoff("applying a batch", logger: logger, metadata: ["batch.size": "\(batch.count)"]) {
                    try await applier.applyIsolatingFailures(batch)
                }
                guard applied != nil else {
                    _ = try? await following
                    break
                }
                let appliedAt = ContinuousClock.now
                metrics?.batch(size: current.count, applied: appliedAt - started)
                relayWakeup.signal()
                do {
                    // Not waited for: the next batch need not wait a broker round trip for it.
                    try await consumer.commit(current.map(\.message), waitForBroker: false)
                } catch let error as KafkaError where !error.isFatal {
                    // Offsets only save re-reading: the batch is in the database, and
                    // if it is read again (here or by the partition's next owner) the
                    // inbox absorbs it. So a lost group membership or a broker outage
                    // at commit time is a warning, not the end of the hub.
                    logger.warning("offsets not committed; the batch is applied and a re-read is absorbed", metadata: ["error": "\(error)"])
                }
                logger.debug("batch applied", metadata: [
                    "batch.size": "\(current.count)", "batch.apply": "\(appliedAt - started)", "batch.commit": "\(ContinuousClock.now - appliedAt)",
                ])
            }
            current = try await following
        }
        await consumer.close()
        logger.info("hub pipeline stopped")
    }

    /// The next batch (closed on size or time), screened; empty when nothing
    /// came or the hub is shutting down.
    private func fetchAndScreen() async throws -> [ScreenedEvent] {
        guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return [] }
        let batch = try await consumer.nextBatch(
            maxMessages: configuration.maxBatchSize,
            maxWaitMilliseconds: configuration.maxBatchWaitMilliseconds)
        // Only the keyring's reload reaches the database here.
        return await retryWithBackoff("screening a batch", logger: logger, metadata: ["batch.size": "\(batch.count)"]) {
            try await screener.screen(batch)
        } ?? []
    }
}
