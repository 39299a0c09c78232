import CaseHubMetrics
import CaseModel
import Foundation
import Hub
import HubStore
import Kafka
import Logging
import Postgres
import ServiceLifecycle
import TestSupport
import Testing

/// The real relay and producer against the real broker: a record the broker
/// can never take (larger than librdkafka's `message.max.bytes`) is parked,
/// the other agencies' records go on, and only its own case's later records
/// wait behind it until an administrator discards it.
@Suite struct OutboxParkingTests {
    let logger: Logger = {
        var logger = Logger(label: "test.parking")
        logger.logLevel = .notice
        return logger
    }()

    @Test func anOversizedRecordIsParkedAndOnlyItsCaseWaits() async throws {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: try await TestDatabase.create("parking")), logger: logger)
        defer { Task { await client.shutdown() } }
        _ = try await Migrator(client: client, logger: logger).migrate()
        let store = HubStore(client: client)
        let connection = KafkaConfiguration(bootstrapServers: [TestEnvironment.kafkaBrokers], clientID: "casehub-parking")
        let (stuckTopic, otherTopic) = (TestEnvironment.uniqueName("to-agency-a"), TestEnvironment.uniqueName("to-agency-b"))
        _ = try await KafkaAdmin(configuration: connection, logger: logger).createTopics([
            .init(name: stuckTopic, partitions: 2), .init(name: otherTopic, partitions: 2),
        ])

        var hub = HubConfiguration()
        hub.relayWorkers = 2
        let metrics = CaseHubMetrics()
        let wakeup = Wakeup()
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        let relay = OutboxRelay(configuration: hub, store: store, producer: producer, wakeup: wakeup,
                                signer: DeliverySigner(keyFromFile: nil, topics: hub.topics), keys: HubKeyStore(client: client),
                                metrics: metrics, logger: logger)
        let services = ServiceGroup(services: [producer, relay], gracefulShutdownSignals: [], logger: logger)
        let running = Task { try await services.run() }

        var consumerConfiguration = KafkaConsumerConfiguration(connection: connection, groupID: TestEnvironment.uniqueName("receivers"))
        consumerConfiguration.sessionTimeoutMilliseconds = 6_000
        consumerConfiguration.connection.properties["heartbeat.interval.ms"] = "500"
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        try consumer.subscribe(topics: [stuckTopic, otherTopic])
        let received = Received()
        let consuming = Task {
            while !Task.isCancelled {
                for message in try await consumer.nextBatch(maxMessages: 500, maxWaitMilliseconds: 100) {
                    received.add(String(decoding: message.value.prefix(64), as: UTF8.self), at: .now)
                }
            }
        }

        // Agency A's case: an event whose routed copy is over the producer's
        // 1,000,000-byte limit, then a small later one. Everyone else's
        // records, some of them in the very same shard, around them.
        let stuck = "parking-stuck"
        let shards = try await store.auditShards()
        let stuckShard = AuditShards.shard(of: AuditShards.key(caseID: stuck, source: ""), count: shards)
        func shard(_ caseID: String) -> Int { AuditShards.shard(of: AuditShards.key(caseID: caseID, source: ""), count: shards) }
        // 36 cases anywhere, and 4 in the stuck case's shard: the worst case for "the others flow".
        let sameShard = (0..<10_000).lazy.map { "parking-neighbour-\($0)" }.filter { shard($0) == stuckShard }.prefix(4)
        let others = (0..<36).map { "parking-other-\($0)" } + sameShard
        func record(_ topic: String, _ key: String, _ text: String, padding: Int = 0) -> OutboxRecord {
            OutboxRecord(topic: topic, key: key, headers: [RecordHeader(name: "ce_subject", value: key), RecordHeader(name: "ce_id", value: text)],
                         value: Array(text.utf8) + [UInt8](repeating: UInt8(ascii: " "), count: padding))
        }
        // The receiver has joined its group (tansu holds a join for seconds) before the clock starts.
        try await store.withTransaction { transaction in transaction.enqueue([record(otherTopic, "warm-up", "warm-up")]) }
        wakeup.signal()
        #expect(await eventually(timeout: .seconds(30)) { received.contains(["warm-up"]) })

        let committed = ContinuousClock.now
        try await store.withTransaction { transaction in
            transaction.enqueue([record(stuckTopic, stuck, "stuck-1", padding: 1_100_000)])
            transaction.enqueue(others.prefix(20).map { record(otherTopic, $0, "\($0)-1") })
            transaction.enqueue([record(stuckTopic, stuck, "stuck-2")])
            transaction.enqueue(others.suffix(20).map { record(otherTopic, $0, "\($0)-1") })
        }
        wakeup.signal()

        // Everyone else's records arrive; the stuck case's do not.
        let othersArrived = await eventually(timeout: .seconds(30)) { received.contains(others.map { "\($0)-1" }) }
        #expect(othersArrived)
        if let last = received.lastArrival(of: others.map { "\($0)-1" }) {
            print("outbox parking: the other agencies' 40 records arrived \(last - committed) after their commit, past the parked one")
        }
        let parked = await eventually(timeout: .seconds(30)) { (try? await store.parkedOutboxCount()) == 2 }
        #expect(parked)
        let records = try await store.parkedOutboxRecords()
        let head = try #require(records.first { $0.waitsBehind == nil })
        #expect(head.caseID == stuck && head.eventID == "stuck-1" && head.attempts == hub.relayParkAfterAttempts)
        #expect(head.reason.lowercased().contains("too large"), "reason: \(head.reason)")
        #expect(records.first { $0.waitsBehind != nil }?.eventID == "stuck-2")
        #expect(!received.contains(["stuck-2"]))
        #expect(String(decoding: metrics.exposition(with: .init(outboxBacklog: 0, outboxParked: 2, deadlines: [:], consumerLag: nil)), as: UTF8.self)
            .contains("casehub_outbox_parked 2"))

        // The administrator discards it; the case's later record goes.
        #expect(try await store.resolveParked(head.position, .discard, reason: "larger than the broker takes; resent in parts",
                                              by: "admin-test", at: Date()) == .done)
        #expect(await eventually(timeout: .seconds(30)) { received.contains(["stuck-2"]) })
        // Resolved in the relay round that published it, which commits just after the broker's acknowledgement.
        #expect(await eventually(timeout: .seconds(10)) { (try? await store.parkedOutboxCount()) == 0 })
        #expect(try await store.outboxBacklog().count == 0)

        consuming.cancel()
        _ = try? await consuming.value
        await consumer.close()
        await services.triggerGracefulShutdown()
        try await running.value
    }

    /// First arrivals by the start of the value, with their instants.
    final class Received: @unchecked Sendable {
        private let lock = NSLock()
        private var arrivals: [String: ContinuousClock.Instant] = [:]

        func add(_ prefix: String, at instant: ContinuousClock.Instant) {
            let name = String(prefix.prefix { $0 != " " })
            lock.withLock { if arrivals[name] == nil { arrivals[name] = instant } }
        }

        func contains(_ names: [String]) -> Bool {
            lock.withLock { names.allSatisfy { arrivals[$0] != nil } }
        }

        func lastArrival(of names: [String]) -> ContinuousClock.Instant? {
            lock.withLock { names.compactMap { arrivals[$0] }.max() }
        }
    }
}
