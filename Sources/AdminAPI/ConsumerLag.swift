public import Kafka

/// How far consumer groups are behind their topics' high watermarks, per
/// partition they have committed on.
public struct ConsumerLag: Sendable {
    let kafka: KafkaAdmin

    public init(kafka: KafkaAdmin) {
        self.kafka = kafka
    }

    public struct Entry: Sendable {
        public var group: String
        public var topic: String
        public var partition: Int32
        public var committed: Int64
        public var high: Int64
        public var lag: Int64 { max(0, high - committed) }
    }

    public func read(groups: [String]) async throws -> [Entry] {
        var entries: [Entry] = []
        for group in groups {
            // A generous request timeout: under load, librdkafka 2.16 has aborted on an
            // assertion (rd_kafka_enq_once) when an offsets request timed out as its answer came.
            for (partition, committed) in try await kafka.committedOffsets(group: group, timeoutMilliseconds: 30_000) {
                let marks = try await kafka.watermarks(of: partition, timeoutMilliseconds: 5_000)
                entries.append(Entry(group: group, topic: partition.topic, partition: partition.partition, committed: committed, high: marks.high))
            }
        }
        return entries.sorted { ($0.group, $0.topic, $0.partition) < ($1.group, $1.topic, $1.partition) }
    }
}
