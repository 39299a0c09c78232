import Foundation
import Kafka
import Logging
import Postgres
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the benchmark runs and how hard it pushes.
struct BenchSettings: Sendable {
    var brokers: String
    var databaseURL: String
    var casehubExecutable: URL
    var partitions: Int
    var hubLogLevel: String
    /// Names this run's databases, topics and groups; a fresh one gives a measurement fresh ones.
    var runID = Self.newRunID()

    static func newRunID() -> String { String(UUID().uuidString.prefix(8)).lowercased() }
    static let clientID = "casehub-bench"

    var kafka: KafkaConfiguration { KafkaConfiguration(bootstrapServers: [brokers], clientID: Self.clientID) }

    /// A short session timeout: tansu delays a group join by about half of it.
    func consumer(group: String) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(connection: kafka, groupID: group)
        configuration.sessionTimeoutMilliseconds = 6_000
        configuration.connection.properties["heartbeat.interval.ms"] = "500"
        // The bench's receiver waits on fetches as the agencies' adapters do
        // (the local stack sets the wait for tansu, which sleeps it out).
        if let wait = ProcessInfo.processInfo.environment["CASEHUB_LIBRDKAFKA_FETCH_WAIT_MAX_MS"].flatMap(Int.init) {
            configuration.fetchWaitMaxMilliseconds = wait
        }
        return configuration
    }

    /// Creates an empty database on the cluster; returns its connection string.
    func createDatabase(_ name: String) async throws -> String {
        try await PostgresClient.createDatabase(name, on: databaseURL, logger: Logger(label: "bench"))
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A count over a duration.
struct Rate {
    var count: Int
    var elapsed: Duration
    var perSecond: Double { Double(count) / max(elapsed.seconds, 1e-9) }
    var text: String { "\(Int(perSecond.rounded())) events/s (\(count) in \(String(format: "%.2f", elapsed.seconds)) s)" }
}

struct LatencySummary {
    var count: Int
    var p50: Duration
    var p99: Duration
    var max: Duration

    init(_ samples: [Duration]) {
        let sorted = samples.sorted()
        func percentile(_ p: Double) -> Duration {
            sorted.isEmpty ? .zero : sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }
        count = sorted.count
        p50 = percentile(0.50)
        p99 = percentile(0.99)
        max = sorted.last ?? .zero
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var millisecondsText: String { String(format: "%.1f ms", seconds * 1000) }
}

func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }

/// The processes the bench started (hubs, perf, its own tansu). Foundation
/// puts each in a process group of its own, so a Ctrl-C or a timeout's
/// SIGTERM reaches only the bench: it kills them before it exits.
final class ChildProcesses: @unchecked Sendable {
    static let shared = ChildProcesses()
    private let pids = Mutex<Set<Int32>>([])
    /// Set once, by the main task, before any signal can arrive.
    private var handlers: [any DispatchSourceSignal] = []

    func started(_ pid: Int32) { _ = pids.withLock { $0.insert(pid) } }
    func ended(_ pid: Int32) { _ = pids.withLock { $0.remove(pid) } }

    func killOnInterrupt() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
                exit(128 + signalNumber)
            }
            source.resume()
            handlers.append(source)
        }
    }
}

/// SIGTERM, then SIGKILL if it is still there after `grace`.
func stopChild(_ process: Process, grace: TimeInterval = 10) {
    defer { ChildProcesses.shared.ended(process.processIdentifier) }
    guard process.isRunning else { return }
    process.terminate()
    let deadline = Date().addingTimeInterval(grace)
    while process.isRunning && Date() < deadline { usleep(50_000) }
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Swift's print, flushed at once: progress shows as it happens, also through
/// a pipe (tee, CI logs), and survives a killed run.
func print(_ line: String = "") {
    Swift.print(line)
    fflush(nil)
}
