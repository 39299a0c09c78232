import Foundation
import Kafka
import Logging
import Postgres

/// Where the benchmark runs and how hard it pushes.
struct BenchSettings: Sendable {
    var brokers: String
    var databaseURL: String
    var casehubExecutable: URL
    var partitions: Int
    var offeredRate: Double
    var hubLogLevel: String
    let runID = String(UUID().uuidString.prefix(8)).lowercased()

    var kafka: KafkaConfiguration { KafkaConfiguration(bootstrapServers: [brokers], clientID: "casehub-bench") }

    /// A short session timeout: tansu delays a group join by about half of it.
    func consumer(group: String) -> KafkaConsumerConfiguration {
        var configuration = KafkaConsumerConfiguration(connection: kafka, groupID: group)
        configuration.sessionTimeoutMilliseconds = 6_000
        configuration.connection.properties["heartbeat.interval.ms"] = "500"
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
