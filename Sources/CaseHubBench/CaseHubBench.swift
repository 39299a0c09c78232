import ArgumentParser
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

    @Option(help: "Offered load for the latency measurement, events/s.")
    var rate = 2_000.0

    @Option(help: "Seconds of offered load.")
    var seconds = 10.0

    @Option(help: "Partitions of each benchmark topic.")
    var partitions = 3

    @Option(help: "Run one part only: broker, sql or hub (for profiling); replay runs only when named.")
    var only: String?

    // `--only replay` (ReplayBench.swift).
    @Option(help: "Accepted audit entries for --only replay.")
    var replayEvents = 1_000_000

    @Option(help: "Log level of the hub process (its log goes to standard error).")
    var hubLogLevel = "warning"

    @Option(help: "The casehub executable (default: next to this one).")
    var casehub: String?

    func run() async throws {
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
                                     partitions: partitions, offeredRate: rate, hubLogLevel: hubLogLevel)
        let workload = Workload()

        // `--only replay`: rebuilding case state from the audit trail (ReplayBench.swift).
        if only == "replay" {
            print("CaseHub benchmark — replay of \(replayEvents) audit entries, \(eventsPerCase) per case, \(ProcessInfo.processInfo.activeProcessorCount) cores")
            let replay = try await ReplayBench(settings: settings, events: replayEvents, eventsPerCase: eventsPerCase, logger: logger).run()
            print("  replay: \(replay.replayed.text) into \(replay.cases) cases")
            return
        }

        print("CaseHub benchmark — \(events) events, \(eventsPerCase) per case, \(partitions) partitions, \(ProcessInfo.processInfo.activeProcessorCount) cores")
        let backlog = try workload.events(count: events, eventsPerCase: eventsPerCase, label: "backlog")
        let paced = try workload.events(count: Int(rate * seconds), eventsPerCase: eventsPerCase, label: "paced")

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
        print("(b) the hub end to end (agency topic → PostgreSQL commit → delivery topic)")
        let hub = try await HubEndToEnd(settings: settings, workload: workload, logger: logger).run(backlog: backlog, paced: paced)
        print("  sustained:               \(hub.sustained.text); \(String(format: "%.1f", hub.fromStart.seconds)) s from process start")
        print("  latency at \(Int(hub.offered)) events/s:  p50 \(hub.latency.p50.millisecondsText), p99 \(hub.latency.p99.millisecondsText), max \(hub.latency.max.millisecondsText) (\(hub.latency.count) events)")
        print("(c) hub RSS:               peak \(megabytes(hub.peakRSSBytes)), after the backlog \(megabytes(hub.rssAfterBacklogBytes))")
        if let broker, let sql {
            let ceiling = min(broker.forwarded.perSecond, sql.perSecond)
            print("hub / ceiling:             \(String(format: "%.0f%%", 100 * hub.sustained.perSecond / ceiling)) (ceiling = min(broker \(Int(broker.forwarded.perSecond)), SQL \(Int(sql.perSecond))) events/s)")
        }
    }
}
