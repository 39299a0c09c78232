import CRdKafka

/// Owns one reference to an `rd_kafka_queue_t`. librdkafka's queues are
/// thread safe. A queue keeps its ``RDKafkaClient`` alive, so the client's
/// handle is destroyed only after every queue taken from it.
final class RDKafkaQueue: @unchecked Sendable {
    private let pointer: OpaquePointer
    private let client: RDKafkaClient

    /// Ownership: takes over a queue reference that librdkafka returned
    /// (`rd_kafka_queue_get_*`, `rd_kafka_queue_new`); released in `deinit`.
    private init(taking pointer: OpaquePointer, of client: RDKafkaClient) {
        self.pointer = pointer
        self.client = client
    }

    deinit {
        rd_kafka_queue_destroy(pointer)
    }

    /// The client's main queue: logs, errors and, for a producer, delivery reports.
    static func main(of client: RDKafkaClient) -> RDKafkaQueue {
        RDKafkaQueue(taking: rd_kafka_queue_get_main(client.handle)!, of: client)
    }

    /// A consumer's queue (messages, rebalances); needs a `group.id`.
    static func consumer(of client: RDKafkaClient) -> RDKafkaQueue {
        RDKafkaQueue(taking: rd_kafka_queue_get_consumer(client.handle)!, of: client)
    }

    /// A new queue of the client's own, e.g. for one admin request's result.
    static func new(of client: RDKafkaClient) -> RDKafkaQueue {
        RDKafkaQueue(taking: rd_kafka_queue_new(client.handle)!, of: client)
    }

    /// Waits up to `timeoutMilliseconds` for one event and hands it to `body`.
    /// The event is destroyed when `body` returns: nothing of it may escape.
    /// Returns nil when no event came in time.
    func poll<R, E: Error>(timeoutMilliseconds: Int32, _ body: (OpaquePointer) throws(E) -> R) throws(E) -> R? {
        guard let event = rd_kafka_queue_poll(pointer, timeoutMilliseconds) else { return nil }
        defer { rd_kafka_event_destroy(event) }
        return try body(event)
    }

    /// The queue for a librdkafka call that takes one; valid only inside `body`.
    func withPointer<R, E: Error>(_ body: (OpaquePointer) throws(E) -> R) throws(E) -> R {
        try body(pointer)
    }
}
