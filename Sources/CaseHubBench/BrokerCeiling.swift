import Foundation
import Kafka
import Logging

/// What the broker and our Kafka wrapper allow without the hub: the same
/// records produced to a topic, then consumed and forwarded to another topic
/// with offsets committed per batch — the hub's Kafka path with no database.
struct BrokerCeiling {
    let settings: BenchSettings
    let logger: Logger

    struct Result {
        var produced: Rate
        var forwarded: Rate
    }

    func run(_ messages: [KafkaOutgoingMessage]) async throws -> Result {
        let source = "bench.\(settings.runID).raw"
        let target = "bench.\(settings.runID).forwarded"
        let admin = try KafkaAdmin(configuration: settings.kafka, logger: logger)
        _ = try await admin.createTopics([source, target].map {
            KafkaAdmin.TopicSpecification(name: $0, partitions: settings.partitions, replicationFactor: 1)
        })

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: settings.kafka), logger: logger)
        let retargeted = messages.map { KafkaOutgoingMessage(topic: source, key: $0.key, value: $0.value, headers: $0.headers) }
        let produceStart = ContinuousClock.now
        try await Self.sendAll(retargeted, with: producer)
        let produced = Rate(count: messages.count, elapsed: ContinuousClock.now - produceStart)

        var consumerConfiguration = settings.consumer(group: "bench-\(settings.runID)-forward")
        consumerConfiguration.autoOffsetReset = "earliest"
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        try consumer.subscribe(topics: [source])
        var forwardedCount = 0
        var firstReceived: ContinuousClock.Instant?
        while forwardedCount < messages.count {
            let batch = try await consumer.nextBatch(maxMessages: 500, maxWaitMilliseconds: 20)
            if batch.isEmpty { continue }
            if firstReceived == nil { firstReceived = .now }
            let outgoing = batch.map { KafkaOutgoingMessage(topic: target, key: $0.key, value: $0.value, headers: $0.headers) }
            try await Self.sendAll(outgoing, with: producer)
            _ = try await consumer.commit(batch)
            forwardedCount += batch.count
        }
        let forwarded = Rate(count: messages.count, elapsed: ContinuousClock.now - firstReceived!)
        await consumer.close()
        await producer.shutdown()
        return Result(produced: produced, forwarded: forwarded)
    }

    /// Sends in chunks, each awaited for its delivery reports; any failure ends the run.
    static func sendAll(_ messages: [KafkaOutgoingMessage], with producer: KafkaProducer, chunk: Int = 2_000) async throws {
        for start in stride(from: 0, to: messages.count, by: chunk) {
            let results = try await producer.sendBatch(Array(messages[start..<min(start + chunk, messages.count)]))
            for result in results { _ = try result.get() }
        }
    }
}
