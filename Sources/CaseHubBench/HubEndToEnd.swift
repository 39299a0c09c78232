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

/// Real `casehub hub` processes (release builds) on a database of their own,
/// all in one consumer group on the same topics: (1) a backlog drained as fast
/// as they go — sustained events/s from the agency's topic through the
/// PostgreSQL commit to the delivery topic; (2) offered loads one after the
/// other, each event's latency from the agency's send to its delivery; each
/// hub's RSS sampled throughout.
struct HubEndToEnd {
    let settings: BenchSettings
    let workload: Workload
    let network: any HubNetwork
    let logger: Logger

    struct Paced {
        var offered: Double
        var latency: LatencySummary
    }

    struct Result {
        var hubs: Int
        var sustained: Rate
        var fromStart: Duration
        var paced: [Paced]
        var peakRSSBytes: [Int]
        var rssAfterBacklogBytes: [Int]
        var profile: [String]?
        var profileError: String?
    }

    /// - Parameters:
    ///   - paced: for each offered load, its events (sent one load after the other).
    ///   - profile: `perf record` the first hub during the backlog drain.
    func run(hubs hubCount: Int, backlog: [CloudEvent], paced: [(rate: Double, events: [CloudEvent])], profile: Bool = false) async throws -> Result {
        let topics = TopicNames(prefix: "bench-\(settings.runID)")
        let databaseURL = try await settings.createDatabase("bench_hub_\(settings.runID)")
        let database = PostgresClient(configuration: PostgresConfiguration(connectionString: databaseURL), logger: logger)
        try await Migrator(client: database, logger: logger).migrate()
        _ = try await AgencyKeyStore(client: database).register(agency: Workload.sender, publicKey: workload.key.publicKey, by: .administrator("bench"))
        await database.shutdown()

        let admin = try KafkaAdmin(configuration: settings.kafka, logger: logger)
        // Every topic the hubs write to: they create none (`casehub topics` does).
        _ = try await admin.createTopics([topics.from(Workload.sender), topics.to(Workload.receiver), topics.changes, topics.rejected,
                                          topics.checkpoints].map {
            KafkaAdmin.TopicSpecification(name: $0, partitions: settings.partitions, replicationFactor: 1)
        })

        // The delivery watcher joins before anything is sent, so it sees every delivery.
        let deliveries = try DeliveryWatcher(settings: settings, topic: topics.to(Workload.receiver), logger: logger)
        try await deliveries.waitUntilAssigned()

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: settings.kafka), logger: logger)
        print("  producing a backlog of \(backlog.count) events to \(topics.from(Workload.sender))…")
        try await BrokerCeiling.sendAll(backlog.map { Workload.message($0, topic: topics.from(Workload.sender)) }, with: producer)

        // All at once, so that they join the consumer group together.
        print("  starting \(hubCount) hub process\(hubCount == 1 ? "" : "es")…")
        let processes = try (0..<hubCount).map { _ in
            try HubProcess(settings: settings, brokers: network.hubBrokers, databaseURL: network.hubDatabaseURL(databaseURL),
                           topicPrefix: topics.prefix)
        }
        defer { for process in processes { process.stop() } }
        let samplers = processes.map { RSSSampler(pid: $0.pid) }
        let started = ContinuousClock.now
        var profiler: Profiler?
        var profileError: String?
        if profile {
            do { profiler = try Profiler(pid: processes[0].pid) } catch { profileError = "\(error)" }
        }
        let backlogIDs = Set(backlog.map(\.id.description))
        let (firstAt, lastAt) = try await deliveries.waitFor(ids: backlogIDs, progressLabel: "backlog")
        let sustained = Rate(count: backlog.count - 1, elapsed: lastAt - firstAt)
        let rssAfterBacklog = processes.map { RSSSampler.current(pid: $0.pid) }
        var profileRows: [String]?
        if let profiler {
            do { profileRows = try profiler.stop(top: 15) } catch { profileError = "\(error)" }
        }
        for process in processes where !process.isRunning {
            throw BenchError("a hub process exited during the backlog (status \(process.terminationStatus))")
        }

        var pacedResults: [Paced] = []
        for (rate, events) in paced {
            print("  offering \(Self.rateText(rate)) events/s for \(events.count) events…")
            let sendTimes = try await offer(events, at: rate, to: topics.from(Workload.sender), with: producer, watcher: deliveries)
            pacedResults.append(Paced(offered: rate, latency: LatencySummary(deliveries.latencies(sentAt: sendTimes))))
        }
        await producer.shutdown()
        await deliveries.close()
        let peaks = samplers.map { $0.stop() }
        return Result(hubs: hubCount, sustained: sustained, fromStart: lastAt - started, paced: pacedResults,
                      peakRSSBytes: peaks, rssAfterBacklogBytes: rssAfterBacklog, profile: profileRows, profileError: profileError)
    }

    static func rateText(_ rate: Double) -> String {
        rate == rate.rounded() ? "\(Int(rate))" : String(format: "%.1f", rate)
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
    var isRunning: Bool { process.isRunning }
    var terminationStatus: Int32 { process.terminationStatus }

    init(settings: BenchSettings, brokers: String, databaseURL: String, topicPrefix: String) throws {
        process.executableURL = settings.casehubExecutable
        process.arguments = ["hub", "--http-port", "0", "--session-timeout-ms", "6000", "--log-level", settings.hubLogLevel,
                             "--kafka-property", "heartbeat.interval.ms=500"]
        var environment = ProcessInfo.processInfo.environment
        environment["CASEHUB_DATABASE_URL"] = databaseURL
        environment["CASEHUB_TOPIC_PREFIX"] = topicPrefix
        environment["CASEHUB_KAFKA_BROKERS"] = brokers
        process.environment = environment
        try process.run()
        ChildProcesses.shared.started(process.processIdentifier)
    }

    func stop() { stopChild(process, grace: 30) }
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
