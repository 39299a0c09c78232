import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the hubs connect to: the stack directly, or through delaying proxies
/// as if PostgreSQL and the broker were on other hosts.
protocol HubNetwork: Sendable {
    /// The brokers the bench's own clients use (producer, delivery watcher, admin).
    var benchBrokers: String { get }
    /// The brokers the hubs use.
    var hubBrokers: String { get }
    /// The hubs' connection string for a database the bench made.
    func hubDatabaseURL(_ databaseURL: String) -> String
    var summary: String { get }
    func stop()
}

struct DirectNetwork: HubNetwork {
    let brokers: String
    var benchBrokers: String { brokers }
    var hubBrokers: String { brokers }
    func hubDatabaseURL(_ databaseURL: String) -> String { databaseURL }
    var summary: String { "direct on loopback (no added delay)" }
    func stop() {}
}

/// Delaying proxies in front of PostgreSQL and of a broker of the bench's own.
///
/// A Kafka client connects to the bootstrap address only to learn the address
/// the broker advertises, then talks to that; so the broker must advertise
/// the proxy, or the hubs would go around it. The stack's tansu advertises
/// itself, hence a second tansu (memory storage, like the stack's) listening
/// on a free port and advertising the proxy's.
///
/// The bench's own clients also reach the broker through that proxy, but
/// without the delay: the proxy reads the client id of a connection's first
/// request ("casehub-bench" for the bench, "casehub" for a hub).
final class DelayedNetwork: HubNetwork, @unchecked Sendable {
    let delay: Duration
    private let databaseProxy: DelayProxy
    private let brokerProxy: DelayProxy
    private let broker: SpawnedProcess

    init(delay: Duration, databaseURL: String, tansu: URL, benchClientID: String) throws {
        self.delay = delay
        guard let databasePort = Self.port(in: databaseURL) else {
            throw BenchError("--delay-ms needs a port=N in CASEHUB_DATABASE_URL (got \(databaseURL))")
        }
        guard FileManager.default.isExecutableFile(atPath: tansu.path) else {
            throw BenchError("--delay-ms starts a broker of its own: no tansu at \(tansu.path) (set CASEHUB_TANSU or --tansu)")
        }
        databaseProxy = try DelayProxy(targetPort: databasePort, delay: delay)
        let brokerPort = freeLoopbackPort()
        brokerProxy = try DelayProxy(targetPort: brokerPort, delay: delay) { firstRequest in
            kafkaClientID(inFirstRequest: firstRequest).map { !$0.hasPrefix(benchClientID) } ?? true
        }
        broker = try SpawnedProcess(tansu.path, ["broker", "--listener-url", "tcp://127.0.0.1:\(brokerPort)",
                                                 "--advertised-listener-url", "tcp://127.0.0.1:\(brokerProxy.port)",
                                                 "--storage-engine", "memory://tansu/"])
        let deadline = Date().addingTimeInterval(30)
        while !loopbackAccepts(port: brokerPort) {
            guard broker.isRunning, Date() < deadline else {
                stop()
                throw BenchError("the bench's own tansu did not open port \(brokerPort)")
            }
            usleep(100_000)
        }
    }

    var benchBrokers: String { "127.0.0.1:\(brokerProxy.port)" }
    var hubBrokers: String { benchBrokers }

    /// Later keywords win in a libpq connection string.
    func hubDatabaseURL(_ databaseURL: String) -> String {
        databaseURL + " host=127.0.0.1 port=\(databaseProxy.port)"
    }

    var summary: String {
        let ms = String(format: "%.1f", delay.seconds * 1000)
        return "hubs ↔ PostgreSQL and hubs ↔ broker through proxies adding \(ms) ms each way; the bench's load generator and delivery watcher undelayed"
    }

    /// How many connections each proxy forwarded, to show the hubs did go through them.
    var connectionsText: String {
        let database = databaseProxy.connectionCounts
        let kafka = brokerProxy.connectionCounts
        return "PostgreSQL \(database.delayed) delayed; broker \(kafka.delayed) delayed, \(kafka.exempt) undelayed (the bench's)"
    }

    func stop() {
        brokerProxy.stop()
        databaseProxy.stop()
        broker.stop()
    }

    private static func port(in connectionString: String) -> Int? {
        // The last port= wins, as in libpq.
        connectionString.split(separator: " ").reversed()
            .first { $0.hasPrefix("port=") }
            .flatMap { Int($0.dropFirst("port=".count)) }
    }
}
