import Adapters
import AdminAPI
import ArgumentParser
import CaseHubServer
import CaseModel
import Foundation
import Hub
import HubStore
import Kafka

/// `casehub flows`: deliveries sender → receiver per event type over a window,
/// with delivery latency, and the refusals in it.
struct FlowsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "flows", abstract: "Events delivered between agencies, and refusals, over a window.")
    @OptionGroup var options: CommonOptions
    @Option(help: "Window start, RFC 3339 (default: one hour before --until).") var since: String?
    @Option(help: "Window end, RFC 3339 (default now).") var until: String?
    @Option(help: "Bucket length in seconds (default: the whole window, one row per flow).") var bucket: Int?
    @Flag(help: "JSON instead of tables.") var json = false

    func run() async throws {
        let logger = try options.bootstrapLogging()
        let configuration = try options.configuration()
        let end = try until.map(Self.instant) ?? Date()
        let start = try since.map(Self.instant) ?? end.addingTimeInterval(-3600)
        guard start < end else { throw ValidationError("--since must be before --until") }
        let window = Int(end.timeIntervalSince(start).rounded(.up))
        let seconds = bucket ?? window
        guard seconds >= 1, window / seconds <= 10_000 else { throw ValidationError("--bucket: 1 second or more, at most 10,000 buckets in the window") }
        let flows = try await options.withDatabase(configuration, logger: logger) { client in
            try await AdminQueries(client: client).flows(since: start, until: end, bucketSeconds: seconds)
        }
        if json { return print(flows.canonicalString) }
        print("deliveries \(RFC3339.format(start)) → \(RFC3339.format(end))")
        print(TextTable(header: ["bucket", "sender", "receiver", "type", "count", "p50 s", "p99 s"], rows: (flows["deliveries"]?.arrayValue ?? []).map { item in
            [item["bucket"], item["sender"], item["receiver"], item["type"], item["count"], Self.seconds(item["latencyP50Seconds"]), Self.seconds(item["latencyP99Seconds"])]
                .map(TextTable.cell)
        }).rendered)
        print("\nrefusals")
        print(TextTable(header: ["bucket", "sender", "code", "count"], rows: (flows["refusals"]?.arrayValue ?? []).map { item in
            [item["bucket"], item["sender"], item["code"], item["count"]].map(TextTable.cell)
        }).rendered)
    }

    static func instant(_ text: String) throws -> Date {
        guard let date = RFC3339.parse(text) else { throw ValidationError("'\(text)' is not an RFC 3339 instant, e.g. 2026-12-01T09:00:00+08:00") }
        return date
    }

    /// Latencies to the millisecond: more digits say nothing here.
    static func seconds(_ value: JSONValue?) -> JSONValue? {
        switch value {
        case .number(let number)?: .string(String(format: "%.3f", number))
        case .integer(let number)?: .string(String(format: "%.3f", Double(number)))
        default: value
        }
    }
}

/// `casehub lag`: how far the hub's and the adapters' consumer groups are
/// behind, per topic and partition.
struct LagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "lag", abstract: "Consumer lag of the hub and the adapters, per topic and partition.")
    @OptionGroup var options: CommonOptions
    @Option(name: .customLong("group"), help: "A consumer group to report; repeatable (default: the hub's and every adapter group of this prefix).")
    var groups: [String] = []
    @Flag(help: "JSON instead of a table.") var json = false

    func run() async throws {
        let logger = try options.bootstrapLogging()
        let configuration = try options.configuration()
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        // Without --group: the hub's group, the shared adapters' group, and one per registered agency.
        let wanted = groups.isEmpty
            ? [configuration.hub.groupID, DeliveryConsumer.groupID(for: [], topics: configuration.topics)]
                + configuration.registry.all.map { DeliveryConsumer.groupID(for: [$0.id], topics: configuration.topics) }
            : groups
        let entries = try await ConsumerLag(kafka: admin).read(groups: wanted)
        if json {
            return print(JSONValue.array(entries.map { entry in
                .object(["group": .string(entry.group), "topic": .string(entry.topic), "partition": .integer(Int64(entry.partition)),
                         "committed": .integer(entry.committed), "high": .integer(entry.high), "lag": .integer(entry.lag)])
            }).canonicalString)
        }
        print(TextTable(header: ["group", "topic", "partition", "committed", "high", "lag"], rows: entries.map { entry in
            [entry.group, entry.topic, String(entry.partition), String(entry.committed), String(entry.high), String(entry.lag)]
        }).rendered)
        let totals = Dictionary(grouping: entries, by: \.group).mapValues { $0.reduce(0) { $0 + $1.lag } }
        for (group, total) in totals.sorted(by: { $0.key < $1.key }) { print("\(group): \(total) behind") }
    }
}
