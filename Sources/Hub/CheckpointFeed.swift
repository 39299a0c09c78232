import CaseModel
import Foundation
public import HubStore
public import Kafka
public import Logging

/// Reads every checkpoint published on the `checkpoints` topic, from the
/// first to the last present when reading began: what an auditor keeps
/// outside the database.
public struct CheckpointFeed: Sendable {
    let kafka: KafkaConfiguration
    let topic: String
    let logger: Logger

    public init(kafka: KafkaConfiguration, topic: String, logger: Logger) {
        self.kafka = kafka
        self.topic = topic
        self.logger = logger
    }

    public struct Unreadable: Error, CustomStringConvertible {
        public let description: String
    }

    public func readAll(timeout: Duration = .seconds(60)) async throws -> [AuditCheckpoint.Signed] {
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        guard let metadata = try await admin.topics().first(where: { $0.name == topic }) else {
            throw Unreadable(description: "there is no topic \(topic)")
        }
        var ends: [Int32: Int64] = [:]
        for partition in 0..<Int32(metadata.partitionCount) {
            let marks = try await admin.watermarks(of: KafkaTopicPartition(topic: topic, partition: partition))
            if marks.high > marks.low { ends[partition] = marks.high }
        }
        guard !ends.isEmpty else { return [] }
        // A group of its own that commits nothing: every read starts at the beginning.
        var configuration = KafkaConsumerConfiguration(connection: kafka, groupID: "\(topic)-reader-\(UUID().uuidString.lowercased())")
        configuration.autoOffsetReset = "earliest"
        let consumer = try KafkaConsumer(configuration: configuration, logger: logger)
        try consumer.subscribe(topics: [topic])
        var read: [AuditCheckpoint.Signed] = []
        let deadline = ContinuousClock.now + timeout
        while !ends.isEmpty {
            guard ContinuousClock.now < deadline else {
                await consumer.close()
                throw Unreadable(description: "could not read \(topic) to its end within \(timeout)")
            }
            for message in try await consumer.nextBatch(maxMessages: 500, maxWaitMilliseconds: 200) {
                read.append(try AuditCheckpoint.Signed(json: try JSONValue.parse(message.value)))
                if let end = ends[message.partition], message.offset + 1 >= end { ends.removeValue(forKey: message.partition) }
            }
        }
        await consumer.close()
        return read.sorted { $0.checkpoint.time < $1.checkpoint.time }
    }
}
