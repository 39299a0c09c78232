import CRdKafka

/// The librdkafka loaded at run time (not the headers compiled against).
enum RDKafkaVersion {
    /// `0xMMmmrrxx`: major, minor, revision, pre-release.
    static var number: Int32 { rd_kafka_version() }

    /// As librdkafka prints it, e.g. "2.16.1".
    static var string: String { String(cString: rd_kafka_version_str()) }
}
