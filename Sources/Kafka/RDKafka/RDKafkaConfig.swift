import CRdKafka

/// Builds an `rd_kafka_conf_t`. The caller owns the returned pointer until it
/// hands it to `rd_kafka_new`, which takes it over only when it succeeds.
enum RDKafkaConfig {
    static func make(_ properties: [String: String], events: Int32) throws(KafkaError) -> OpaquePointer {
        let conf = rd_kafka_conf_new()!
        var errorBuffer = [CChar](repeating: 0, count: 512)
        // Sorted so that a rejected property is reported the same way every run.
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(errorBuffer: errorBuffer)
                throw KafkaError(.configuration, "librdkafka property \(key): \(reason)")
            }
        }
        // Logs go to a queue we poll instead of a callback on librdkafka's threads.
        rd_kafka_conf_set(conf, "log.queue", "true", &errorBuffer, errorBuffer.count)
        rd_kafka_conf_set_events(conf, events)
        return conf
    }

    /// Whether librdkafka takes `value` for `key`, on a configuration of its own.
    static func check(_ key: String, _ value: String) throws(KafkaError) {
        let conf = rd_kafka_conf_new()!
        defer { rd_kafka_conf_destroy(conf) }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        if rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count) != RD_KAFKA_CONF_OK {
            throw KafkaError(.configuration, "librdkafka property \(key): \(String(errorBuffer: errorBuffer))")
        }
    }
}
