import CaseModel
import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HubStore
import Kafka
import Logging
import Postgres
import Synchronization

/// A real `casehub hub` process (release build) on a database of its own:
/// (1) a backlog drained as fast as it goes — sustained events/s from the
/// agency's topic through the PostgreSQL commit to the delivery topic;
/// (2) a fixed offered load, each event's latency from the agency's send to
/// its delivery; the hub's RSS sampled throughout.
struct HubEndToEnd {
    let settings: BenchSettings
    let workload: Workload
    let logger: Logger

    struct Result {
        var sustained: Rate
        var fromStart: Duration
        var latency: LatencySummary
        var offered: Double
        var peakRSSBytes: Int
        var rssAfterBacklogBytes: Int
    }

    func run(backlog: [CloudEvent], paced: [CloudEvent]) async throws -> Result {
        let topics = TopicNames(prefix: "bench-\(settings.runID)")
        let databaseURL = try await settings.createDatabase("bench_hub_\(settings.runID)")
        let database = PostgresClient(configuration: PostgresConfiguration(connectionString: databaseURL), logger: logger)
        try await Migrator(client: database, logger: logger).migrate()
        try await AgencyKeyStore(client: database).register(agency: Workload.sender, publicKey: workload.key.publicKey)
        await database.shutdown()

        let admin = try KafkaAdmin(configuration: settings.kafka, logger: logger)
        _ = try await admin.createTopics([topics.from(Workload.sender), topics.to(Workload.receiver)].map {
            KafkaAdmin.TopicSpecification(name: $0, partitions: settings.partitions, replicationFactor: 1)
        })

        // The delivery watcher joins before anything is sent, so it sees every delivery.
        let deliveries = try DeliveryWatcher(settings: settings, topic: topics.to(Workload.receiver), logger: logger)
        try await deliveries.waitUntilAssigned()

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: settings.kafka), logger: logger)
        print("  producing a backlog of \(backlog.count) events to \(topics.from(Workload.sender))…")
        try await BrokerCeiling.sendAll(backlog.map { Workload.message($0, topic: topics.from(Workload.sender)) }, with: producer)

        let hub = try HubProcess(settings: settings, databaseURL: databaseURL, topicPrefix: topics.prefix)
        defer { hub.stop() }
        let sampler = RSSSampler(pid: hub.pid)
        let started = ContinuousClock.now
        let backlogIDs = Set(backlog.map(\.id.description))
        let (firstAt, lastAt) = try await deliveries.waitFor(ids: backlogIDs, progressLabel: "backlog")
        let sustained = Rate(count: backlog.count - 1, elapsed: lastAt - firstAt)
        let rssAfterBacklog = RSSSampler.current(pid: hub.pid)

        print("  offering \(Int(settings.offeredRate)) events/s for \(paced.count) events…")
        let sendTimes = try await offer(paced, at: settings.offeredRate, to: topics.from(Workload.sender), with: producer, watcher: deliveries)
        let latencies = deliveries.latencies(sentAt: sendTimes)
        await producer.shutdown()
        await deliveries.close()
        let peak = sampler.stop()
        return Result(sustained: sustained, fromStart: lastAt - started, latency: LatencySummary(latencies),
                      offered: settings.offeredRate, peakRSSBytes: peak, rssAfterBacklogBytes: rssAfterBacklog)
    }

    /// Sends in 10 ms ticks at `rate` without waiting for acknowledgements
    /// (an agency does not stop for the previous event); returns each event's
    /// send instant once every delivery has arrived.
    private func offer(_ events: [CloudEvent], at rate: Double, to topic: String, with producer: KafkaProducer,
                       watcher: DeliveryWatcher) async throws -> [String: ContinuousClock.Instant] {
        let tick = Duration.milliseconds(10)
        let perTick = rate / 100
        let messages = events.map { Workload.message($0, topic: topic) }
        var sentAt: [String: ContinuousClock.Instant] = [:]
        let begin = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            var sent = 0
            var ticks = 0
            while sent < messages.count {
                ticks += 1
                let due = min(messages.count, Int((Double(ticks) * perTick).rounded()))
                if due > sent {
                    let now = ContinuousClock.now
                    for index in sent..<due { sentAt[events[index].id.description] = now }
                    let chunk = Array(messages[sent..<due])
                    group.addTask { try await BrokerCeiling.sendAll(chunk, with: producer) }
                    sent = due
                }
                try await Task.sleep(until: begin + tick * ticks, clock: .continuous)
            }
            try await group.waitForAll()
        }
        _ = try await watcher.waitFor(ids: Set(events.map(\.id.description)), progressLabel: "offered load")
        return sentAt
    }
}

/// Reads the delivery topic and notes when each event id arrived.
final class DeliveryWatcher: Sendable {
    /// Arrival instants by event id, shared with the reading task.
    private final class Arrivals: Sendable {
        let byID = Mutex<[String: ContinuousClock.Instant]>([:])
    }

    private let consumer: KafkaConsumer
    private let arrivalLog = Arrivals()
    private let reader: Task<Void, any Error>

    init(settings: BenchSettings, topic: String, logger: Logger) throws {
        var configuration = settings.consumer(group: "bench-\(settings.runID)-deliveries")
        configuration.autoOffsetReset = "earliest"
        // Latency is measured here: do not let the broker hold fetches.
        configuration.connection.properties["fetch.wait.max.ms"] = "5"
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: [topic])
        self.consumer = consumer
        let arrivals = arrivalLog
        reader = Task {
            while !Task.isCancelled {
                let batch = try await consumer.nextBatch(maxMessages: 1_000, maxWaitMilliseconds: 5)
                let now = ContinuousClock.now
                guard !batch.isEmpty else { continue }
                arrivals.byID.withLock { arrivals in
                    for message in batch {
                        if let id = message.header("ce_id")?.stringValue, arrivals[id] == nil { arrivals[id] = now }
                    }
                }
            }
        }
    }

    func waitUntilAssigned() async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while consumer.assignment.isEmpty {
            guard ContinuousClock.now < deadline else { throw BenchError("the delivery watcher got no partitions within 60 s") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Waits until every id has arrived; returns the first and last arrival.
    func waitFor(ids: Set<String>, progressLabel: String, timeout: Duration = .seconds(1_800)) async throws
        -> (first: ContinuousClock.Instant, last: ContinuousClock.Instant) {
        let deadline = ContinuousClock.now + timeout
        var lastReport = ContinuousClock.now
        while true {
            let (arrived, first, last) = arrivalLog.byID.withLock { arrivals in
                var count = 0
                var first: ContinuousClock.Instant?
                var last: ContinuousClock.Instant?
                for id in ids {
                    guard let at = arrivals[id] else { continue }
                    count += 1
                    if first == nil || at < first! { first = at }
                    if last == nil || at > last! { last = at }
                }
                return (count, first, last)
            }
            if arrived == ids.count, let first, let last { return (first, last) }
            if ContinuousClock.now - lastReport > .seconds(5) {
                print("    \(progressLabel): \(arrived)/\(ids.count) delivered")
                lastReport = .now
            }
            guard ContinuousClock.now < deadline else {
                throw BenchError("\(progressLabel): only \(arrived) of \(ids.count) deliveries within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func latencies(sentAt: [String: ContinuousClock.Instant]) -> [Duration] {
        arrivalLog.byID.withLock { arrivals in
            sentAt.compactMap { id, sent in arrivals[id].map { $0 - sent } }
        }
    }

    func close() async {
        reader.cancel()
        _ = await reader.result
        await consumer.close()
    }
}

/// `casehub hub`, started from the same build as this benchmark.
final class HubProcess: @unchecked Sendable {
    private let process = Process()
    var pid: Int32 { process.processIdentifier }

    init(settings: BenchSettings, databaseURL: String, topicPrefix: String) throws {
        process.executableURL = settings.casehubExecutable
        process.arguments = ["hub", "--http-port", "0", "--session-timeout-ms", "6000", "--log-level", settings.hubLogLevel,
                             "--kafka-property", "heartbeat.interval.ms=500"]
        var environment = ProcessInfo.processInfo.environment
        environment["CASEHUB_DATABASE_URL"] = databaseURL
        environment["CASEHUB_TOPIC_PREFIX"] = topicPrefix
        environment["CASEHUB_KAFKA_BROKERS"] = settings.brokers
        process.environment = environment
        try process.run()
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(50_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Samples a process's resident set size every 100 ms, keeping the peak.
final class RSSSampler: Sendable {
    private final class Readings: Sendable {
        let peak = Atomic<Int>(0)
        let running = Atomic<Bool>(true)
    }

    private let readings = Readings()

    init(pid: Int32) {
        let readings = self.readings
        Task.detached {
            while readings.running.load(ordering: .relaxed) {
                let rss = RSSSampler.current(pid: pid)
                if rss > readings.peak.load(ordering: .relaxed) { readings.peak.store(rss, ordering: .relaxed) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    func stop() -> Int {
        readings.running.store(false, ordering: .relaxed)
        return readings.peak.load(ordering: .relaxed)
    }

    /// VmRSS from /proc, in bytes (0 if the process is gone).
    static func current(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
              let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }
}
