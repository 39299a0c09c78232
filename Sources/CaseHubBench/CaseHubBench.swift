import ArgumentParser
import CaseModel
import Foundation
import Kafka
import Logging

/// `make bench`: the ceiling (broker alone, SQL alone) and the hub end to
/// end, measured side by side on this machine, printed — never asserted.
@main
struct CaseHubBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "casehub-bench",
        abstract: "Measures the hub against what the broker and the database allow.")

    @Option(help: "Events per measurement (backlog and ceilings).")
    var events = 20_000

    @Option(help: "Events per case (a referral, then links).")
    var eventsPerCase = 10

    @Option(help: "Offered loads for the latency measurement, events/s, comma-separated, one after the other.")
    var rates = "20,200,1000"

    @Option(help: "Seconds of each offered load.")
    var seconds = 10.0

    @Option(help: "Partitions of each benchmark topic (default 3; 8 with --scale-out).")
    var partitions: Int?

    @Option(help: "Hub processes in the end-to-end measurement, one consumer group on the same database and topics.")
    var hubs = 1

    @Option(help: "Milliseconds added each way between the hubs and PostgreSQL and between the hubs and the broker (default 0; 1 with --scale-out).")
    var delayMs: Double?

    @Flag(help: "Only the sustained rate of 1, 2 and 4 hubs, each on a fresh database and topics, with the delay.")
    var scaleOut = false

    @Flag(help: "perf record the first hub process during the backlog drain; print its hottest symbols.")
    var perf = false

    @Option(help: "Run one part only: broker, sql or hub (for profiling); replay runs only when named.")
    var only: String?

    // `--only replay` (ReplayBench.swift).
    @Option(help: "Accepted audit entries for --only replay.")
    var replayEvents = 1_000_000

    @Option(help: "Log level of the hub processes (their log goes to standard error).")
    var hubLogLevel = "warning"

    @Option(help: "The casehub executable (default: next to this one).")
    var casehub: String?

    @Option(help: "The tansu executable, for the broker of its own that --delay-ms needs (default: $CASEHUB_TANSU, else .local/bin/tansu).")
    var tansu: String?

    func validate() throws {
        guard hubs >= 1 else { throw ValidationError("--hubs must be at least 1") }
        guard (delayMs ?? 0) >= 0 else { throw ValidationError("--delay-ms cannot be negative") }
        _ = try offeredRates()
    }

    private func offeredRates() throws -> [Double] {
        let parsed = rates.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !parsed.isEmpty, parsed.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw ValidationError("--rates wants positive numbers separated by commas, e.g. 20,200,1000")
        }
        return parsed.compactMap { $0 }
    }

    func run() async throws {
        ChildProcesses.shared.killOnInterrupt()
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let logger = Logger(label: "bench")
        try LibrdkafkaVersion.requireSupported()
        let environment = ProcessInfo.processInfo.environment
        guard let brokers = environment["CASEHUB_KAFKA_BROKERS"], let databaseURL = environment["CASEHUB_DATABASE_URL"] else {
            throw ValidationError("CASEHUB_KAFKA_BROKERS and CASEHUB_DATABASE_URL must be set (make bench does it)")
        }
        let executable = casehub.map(URL.init(fileURLWithPath:))
            ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("casehub")
        let settings = BenchSettings(brokers: brokers, databaseURL: databaseURL, casehubExecutable: executable,
                                     partitions: partitions ?? (scaleOut ? 8 : 3), hubLogLevel: hubLogLevel)
        let workload = Workload()
        let delay = delayMs ?? (scaleOut ? 1 : 0)

        // `--only replay`: rebuilding case state from the audit trail (ReplayBench.swift).
        if only == "replay" {
            print("CaseHub benchmark — replay of \(replayEvents) audit entries, \(eventsPerCase) per case, \(ProcessInfo.processInfo.activeProcessorCount) cores")
            let replay = try await ReplayBench(settings: settings, events: replayEvents, eventsPerCase: eventsPerCase, logger: logger).run()
            print("  replay: \(replay.replayed.text) into \(replay.cases) cases")
            return
        }

        print("CaseHub benchmark — \(events) events, \(eventsPerCase) per case, \(settings.partitions) partitions, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let backlog = try workload.events(count: events, eventsPerCase: eventsPerCase, label: "backlog")
        if scaleOut {
            try await runScaleOut(settings: settings, workload: workload, backlog: backlog, delay: delay, logger: logger)
            return
        }

        func wanted(_ part: String) -> Bool { only == nil || only == part }
        var broker: BrokerCeiling.Result?
        if wanted("broker") {
            print("(a) ceiling: broker alone")
            broker = try await BrokerCeiling(settings: settings, logger: logger).run(backlog.map { Workload.message($0, topic: "") })
            print("  produce:                 \(broker!.produced.text)")
            print("  consume→produce→commit:  \(broker!.forwarded.text)")
        }
        var sql: Rate?
        if wanted("sql") {
            print("(a) ceiling: the hub's SQL alone, in bulk")
            sql = try await SQLCeiling(settings: settings, logger: logger).run(backlog, batchSize: 500)
            print("  bulk SQL, synchronous_commit=on: \(sql!.text)")
        }
        guard wanted("hub") else { return }

        let paced = try offeredRates().enumerated().map { index, rate in
            (rate: rate, events: try workload.events(count: max(1, Int(rate * seconds)), eventsPerCase: eventsPerCase, label: "paced\(index)"))
        }
        print("(b) the hub end to end, \(hubs) hub process\(hubs == 1 ? "" : "es") (agency topic → PostgreSQL commit → delivery topic)")
        let network = try makeNetwork(delay: delay, settings: settings)
        defer { network.stop() }
        print("  network: \(network.summary)")
        var hubSettings = settings
        hubSettings.brokers = network.benchBrokers
        let hub = try await HubEndToEnd(settings: hubSettings, workload: workload, network: network, logger: logger)
            .run(hubs: hubs, backlog: backlog, paced: paced, profile: perf)
        if let delayed = network as? DelayedNetwork { print("  connections through the proxies: \(delayed.connectionsText)") }
        print("  sustained:               \(hub.sustained.text); \(String(format: "%.1f", hub.fromStart.seconds)) s from process start")
        printProfile(hub)
        print("  latency, agency send → delivery on the receiver's topic, \(String(format: "%g", seconds)) s per load:")
        print("    " + [pad("offered/s", 10), pad("p50", 10), pad("p99", 10), pad("max", 10), "events"].joined())
        for paced in hub.paced {
            let latency = paced.latency
            print("    " + [pad(HubEndToEnd.rateText(paced.offered), 10), pad(latency.p50.millisecondsText, 10),
                            pad(latency.p99.millisecondsText, 10), pad(latency.max.millisecondsText, 10), "\(latency.count)"].joined())
        }
        print("(c) hub RSS:               \(rssText(hub))")
        if let broker, let sql {
            let ceiling = min(broker.forwarded.perSecond, sql.perSecond)
            let note = delay > 0 ? "; ceilings without the delay" : ""
            print("hub / ceiling:             \(String(format: "%.0f%%", 100 * hub.sustained.perSecond / ceiling)) (ceiling = min(broker \(Int(broker.forwarded.perSecond)), SQL \(Int(sql.perSecond))) events/s\(note))")
        }
    }

    /// 1, 2 and 4 hubs, each on a fresh database and fresh topics; the sustained rate of each.
    private func runScaleOut(settings: BenchSettings, workload: Workload, backlog: [CloudEvent], delay: Double, logger: Logger) async throws {
        print("scale-out: the backlog drained by 1, 2 and 4 hubs in one consumer group, each count on a fresh database and topics")
        let network = try makeNetwork(delay: delay, settings: settings)
        defer { network.stop() }
        print("  network: \(network.summary)")
        var results: [HubEndToEnd.Result] = []
        for hubCount in [1, 2, 4] {
            print("(\(hubCount) hub\(hubCount == 1 ? "" : "s"))")
            var runSettings = settings
            runSettings.brokers = network.benchBrokers
            runSettings.runID = BenchSettings.newRunID()
            let result = try await HubEndToEnd(settings: runSettings, workload: workload, network: network, logger: logger)
                .run(hubs: hubCount, backlog: backlog, paced: [], profile: perf)
            print("  sustained:               \(result.sustained.text); \(String(format: "%.1f", result.fromStart.seconds)) s from process start")
            print("  RSS:                     \(rssText(result))")
            printProfile(result)
            results.append(result)
        }
        if let delayed = network as? DelayedNetwork { print("connections through the proxies: \(delayed.connectionsText)") }
        let base = results[0].sustained.perSecond
        print("scale-out, \(settings.partitions) partitions, \(String(format: "%g", delay)) ms each way, \(backlog.count) events:")
        print("  " + [pad("hubs", 6), pad("events/s", 10), pad("ratio", 8), "peak RSS per process"].joined())
        for result in results {
            print("  " + [pad("\(result.hubs)", 6), pad("\(Int(result.sustained.perSecond.rounded()))", 10),
                          pad(String(format: "%.2f", result.sustained.perSecond / base), 8),
                          result.peakRSSBytes.map(megabytes).joined(separator: ", ")].joined())
        }
    }

    private func makeNetwork(delay: Double, settings: BenchSettings) throws -> any HubNetwork {
        guard delay > 0 else { return DirectNetwork(brokers: settings.brokers) }
        let tansuPath = tansu ?? ProcessInfo.processInfo.environment["CASEHUB_TANSU"] ?? ".local/bin/tansu"
        return try DelayedNetwork(delay: .microseconds(Int((delay * 1000).rounded())), databaseURL: settings.databaseURL,
                                  tansu: URL(fileURLWithPath: tansuPath), benchClientID: BenchSettings.clientID)
    }

    private func printProfile(_ result: HubEndToEnd.Result) {
        if let error = result.profileError { print("  perf: \(error)") }
        guard let rows = result.profile else { return }
        print("  perf, first hub during the backlog drain (self time, share of its samples; recording slows it a little):")
        for row in rows { print("    \(row.trimmingCharacters(in: .whitespaces))") }
    }

    private func rssText(_ result: HubEndToEnd.Result) -> String {
        zip(result.peakRSSBytes, result.rssAfterBacklogBytes).enumerated().map { index, rss in
            (result.hubs == 1 ? "" : "hub \(index + 1): ") + "peak \(megabytes(rss.0)), after the backlog \(megabytes(rss.1))"
        }.joined(separator: "; ")
    }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}
