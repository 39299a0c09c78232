import CRdKafka

/// Owns one `rd_kafka_topic_partition_list_t`, destroyed with this value.
/// Not copyable, so the list has exactly one owner; librdkafka calls get the
/// pointer only inside ``withPointer(_:)``.
struct RDKafkaTopicPartitionList: ~Copyable {
    /// librdkafka's "no offset" (`RD_KAFKA_OFFSET_INVALID`), for lists that name partitions only.
    static let noOffset: Int64 = -1001

    private let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    /// Topics with no partition (`RD_KAFKA_PARTITION_UA`), in the given order: a subscription.
    init(topics: [String]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(topics.count))!
        for topic in topics {
            rd_kafka_topic_partition_list_add(pointer, topic, -1)
        }
    }

    /// Partitions with an offset each, sorted so that requests are the same every run.
    init(_ positions: [KafkaTopicPartition: Int64]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(positions.count))!
        for (partition, offset) in positions.sorted(by: { $0.key < $1.key }) {
            let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)!
            element.pointee.offset = offset
        }
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }

    /// The list for a librdkafka call; librdkafka does not keep it after the call.
    func withPointer<R, E: Error>(_ body: (UnsafeMutablePointer<rd_kafka_topic_partition_list_t>) throws(E) -> R) throws(E) -> R {
        try body(pointer)
    }

    /// Each element's offset, as librdkafka left it (e.g. after `rd_kafka_committed`).
    func positions() -> [KafkaTopicPartition: Int64] {
        Self.positions(of: pointer)
    }

    /// The offsets of the elements of a list someone else owns (an event's, a
    /// result's), skipping elements whose offset `include` refuses.
    static func positions(
        of list: UnsafePointer<rd_kafka_topic_partition_list_t>, where include: (Int64) -> Bool = { _ in true }
    ) -> [KafkaTopicPartition: Int64] {
        var result: [KafkaTopicPartition: Int64] = [:]
        for element in UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt)) where include(element.offset) {
            result[KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)] = element.offset
        }
        return result
    }

    /// The partitions of a list someone else owns, in the list's order.
    static func partitions(of list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        UnsafeBufferPointer(start: list.pointee.elems, count: Int(list.pointee.cnt)).map { element in
            KafkaTopicPartition(topic: String(cString: element.topic), partition: element.partition)
        }
    }
}
