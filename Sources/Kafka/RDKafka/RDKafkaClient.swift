import CRdKafka
import Dispatch
import Logging

/// Owns one `rd_kafka_t` handle. The only type that creates or destroys it.
///
/// librdkafka's API is thread safe; what is not is calling Swift closures from
/// librdkafka's own threads, so every event (logs, errors, delivery reports,
/// rebalances) is read by polling a queue on a thread we own.
final class RDKafkaClient: @unchecked Sendable {
    enum Kind { case producer, consumer }

    let handle: OpaquePointer
    let logger: Logger

    init(kind: Kind, properties: [String: String], events: Int32, logger: Logger) throws(KafkaError) {
        try LibrdkafkaVersion.requireSupported()
        let conf = try RDKafkaConfig.make(properties, events: events | RD_KAFKA_EVENT_LOG | RD_KAFKA_EVENT_ERROR)
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let type = kind == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER
        // rd_kafka_new takes ownership of `conf` only on success.
        guard let handle = rd_kafka_new(type, conf, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(conf)
            throw KafkaError(.client, "cannot create Kafka client: \(String(errorBuffer: errorBuffer))")
        }
        self.handle = handle
        self.logger = logger
        // Route logs to the main queue, which the owner polls.
        rd_kafka_set_log_queue(handle, nil)
    }

    deinit {
        rd_kafka_destroy(handle)
    }

    /// Handles the events every client kind shares. Returns false when the
    /// event is of another type, for the caller to handle.
    func handleCommonEvent(_ event: OpaquePointer) throws(KafkaError) -> Bool {
        switch rd_kafka_event_type(event) {
        case RD_KAFKA_EVENT_LOG:
            var facility: UnsafePointer<CChar>?
            var text: UnsafePointer<CChar>?
            var level: Int32 = 0
            rd_kafka_event_log(event, &facility, &text, &level)
            logger.log(
                level: Self.logLevel(syslogLevel: level),
                "\(text.map { String(cString: $0) } ?? "")",
                metadata: ["librdkafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
            )
            return true
        case RD_KAFKA_EVENT_ERROR:
            let code = rd_kafka_event_error(event)
            let text = String(cString: rd_kafka_event_error_string(event))
            if rd_kafka_event_error_is_fatal(event) != 0 {
                var buffer = [CChar](repeating: 0, count: 512)
                let fatalCode = rd_kafka_fatal_error(handle, &buffer, buffer.count)
                throw KafkaError(.fatal, "fatal Kafka error: \(String(errorBuffer: buffer))", librdkafkaCode: fatalCode.rawValue)
            }
            // Transient: librdkafka retries by itself (e.g. all brokers down).
            logger.warning("Kafka: \(text)", metadata: ["librdkafka.code": "\(code.rawValue)"])
            return true
        case RD_KAFKA_EVENT_NONE:
            return true
        default:
            return false
        }
    }

    /// Serves logs and errors waiting on the main queue, without blocking.
    /// For clients that nobody polls continuously (the admin client).
    func drainMainQueue() {
        let queue = RDKafkaQueue.main(of: self)
        while queue.poll(timeoutMilliseconds: 0, { _ = try? handleCommonEvent($0) }) != nil {}
    }

    /// Maps librdkafka's syslog levels onto swift-log, one step down: every
    /// error librdkafka logs also arrives as an error event, logged as a warning.
    static func logLevel(syslogLevel: Int32) -> Logger.Level {
        switch syslogLevel {
        case ...2: .critical
        case 3: .notice
        case 4: .info
        case 5: .debug
        default: .trace
        }
    }

    /// librdkafka and broker errors for a produced message that sending it
    /// again will not change: too large, refused as invalid or unauthorised,
    /// or to a topic that does not exist.
    static func isPermanentProduceError(_ code: Int32) -> Bool {
        let permanent: [rd_kafka_resp_err_t] = [
            RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE, RD_KAFKA_RESP_ERR_INVALID_RECORD,
            RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
            RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, RD_KAFKA_RESP_ERR__INVALID_ARG,
        ]
        return permanent.contains { $0.rawValue == code }
    }

    static func errorString(_ code: rd_kafka_resp_err_t) -> String {
        String(cString: rd_kafka_err2str(code))
    }

    /// Copies an `rd_kafka_error_t` and destroys it. Ownership: the caller
    /// hands over an error that librdkafka returned to it.
    static func consume(error: OpaquePointer, as code: KafkaError.Code, _ context: String) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        return KafkaError(
            code,
            "\(context): \(String(cString: rd_kafka_error_string(error)))",
            librdkafkaCode: rd_kafka_error_code(error).rawValue,
            isRetriable: rd_kafka_error_is_retriable(error) != 0
        )
    }
}

extension String {
    /// The text librdkafka wrote into a NUL-terminated error buffer.
    init(errorBuffer: [CChar]) {
        self.init(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
