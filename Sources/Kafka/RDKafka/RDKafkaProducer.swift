import CRdKafka
import Logging

/// A producer's librdkafka side: its client and its main queue, where
/// delivery reports, logs and errors arrive.
///
/// ``produce(_:token:)`` never blocks and is thread safe, as librdkafka's
/// produce is. ``poll(timeoutMilliseconds:delivered:)`` is for one thread at
/// a time (``KafkaProducer``'s poll thread); ``flush(timeoutMilliseconds:)``
/// blocks and runs off Swift's cooperative pool.
final class RDKafkaProducer: @unchecked Sendable {
    enum ProduceOutcome {
        case enqueued
        /// librdkafka's local queue is full; try again once deliveries drained it.
        case queueFull
        case failed(KafkaError)
    }

    private let client: RDKafkaClient
    private let mainQueue: RDKafkaQueue

    var logger: Logger { client.logger }

    init(properties: [String: String], logger: Logger) throws(KafkaError) {
        client = try RDKafkaClient(kind: .producer, properties: properties, events: RD_KAFKA_EVENT_DR, logger: logger)
        mainQueue = .main(of: client)
    }

    /// Hands one message to librdkafka, which copies it. `token` comes back
    /// with the message's delivery report.
    func produce(_ message: KafkaOutgoingMessage, token: UInt) -> ProduceOutcome {
        // Ownership: the header list passes to librdkafka only when produceva succeeds.
        let headers = rd_kafka_headers_new(message.headers.count)!
        for header in message.headers {
            header.value.withUnsafeBytes { bytes in
                _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
            }
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            message.value.withUnsafeBytes { value in
                Self.withKey(message.key) { keyPointer, keyCount in
                    var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
                    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    fields[0].u.cstr = topic
                    fields[1].vtype = RD_KAFKA_VTYPE_VALUE
                    fields[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    fields[1].u.mem.size = value.count
                    fields[2].vtype = RD_KAFKA_VTYPE_KEY
                    fields[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: keyPointer)
                    fields[2].u.mem.size = keyCount
                    fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    fields[3].u.i = RD_KAFKA_MSG_F_COPY
                    fields[4].vtype = RD_KAFKA_VTYPE_HEADERS
                    fields[4].u.headers = headers
                    fields[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                    fields[5].u.ptr = UnsafeMutableRawPointer(bitPattern: token)
                    return rd_kafka_produceva(client.handle, fields, fields.count)
                }
            }
        }
        guard let error else { return .enqueued }
        // Not taken: the headers are still ours to free.
        rd_kafka_headers_destroy(headers)
        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            rd_kafka_error_destroy(error)
            return .queueFull
        }
        // Ownership: consume(error:) copies and destroys the rd_kafka_error_t.
        return .failed(RDKafkaClient.consume(error: error, as: .delivery, "cannot produce to \(message.topic)"))
    }

    private static func withKey<R>(_ key: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let key else { return body(nil, 0) }
        return key.withUnsafeBytes { body($0.baseAddress, $0.count) }
    }

    /// Blocks until every message handed to librdkafka is delivered or failed,
    /// or the time is up.
    func flush(timeoutMilliseconds: Int32) throws(KafkaError) {
        let code = rd_kafka_flush(client.handle, timeoutMilliseconds)
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.timeout, "flush: \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
        }
    }

    /// Fails every message still queued or in flight; their reports follow on the main queue.
    func purgeQueuedAndInFlight() {
        rd_kafka_purge(client.handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
    }

    /// Number of messages librdkafka holds that are not yet delivered.
    var outstandingCount: Int { Int(rd_kafka_outq_len(client.handle)) }

    /// Waits up to `timeoutMilliseconds` for one event on the main queue and
    /// serves it: each delivery report goes to `delivered` with its message's
    /// token; logs and errors are handled here. Throws only a fatal error.
    func poll(
        timeoutMilliseconds: Int32,
        delivered: (UInt, Result<KafkaDeliveryReport, KafkaError>) -> Void
    ) throws(KafkaError) {
        try mainQueue.poll(timeoutMilliseconds: timeoutMilliseconds) { (event) throws(KafkaError) in
            if rd_kafka_event_type(event) == RD_KAFKA_EVENT_DR {
                Self.deliveryReports(of: event, delivered)
                return
            }
            if try !client.handleCommonEvent(event) {
                logger.debug("producer: ignored event \(String(cString: rd_kafka_event_name(event)))")
            }
        }
    }

    /// The reports' messages belong to the event: everything is copied out.
    private static func deliveryReports(of event: OpaquePointer, _ delivered: (UInt, Result<KafkaDeliveryReport, KafkaError>) -> Void) {
        var reports = [UnsafePointer<rd_kafka_message_t>?](repeating: nil, count: 256)
        while true {
            let count = rd_kafka_event_message_array(event, &reports, reports.count)
            if count == 0 { break }
            for report in reports.prefix(count) {
                guard let message = report?.pointee else { continue }
                let token = UInt(bitPattern: message._private)
                let topic = String(cString: rd_kafka_topic_name(message.rkt))
                if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                    delivered(token, .success(KafkaDeliveryReport(topic: topic, partition: message.partition, offset: message.offset)))
                } else {
                    delivered(token, .failure(KafkaError(
                        .delivery,
                        "message to \(topic) not delivered: \(RDKafkaClient.errorString(message.err))",
                        librdkafkaCode: message.err.rawValue,
                        isRetriable: message.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)))
                }
            }
        }
    }
}
