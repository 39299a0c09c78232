import CRdKafka
import Foundation  // dlopen, dlsym
import Logging

/// An in-process Kafka cluster from librdkafka's mock broker
/// (`rd_kafka_mock_cluster_new`, librdkafka 1.7 and later), for tests that
/// need no external broker. Its brokers listen on loopback; clients reach
/// them through ``bootstrapServers`` like any broker.
///
/// It supports producing (idempotent too), fetching, consumer groups with
/// commits, metadata and offsets. It has no controller, so the CreateTopics
/// admin request times out: topics come from
/// ``createTopic(_:partitions:replicationFactor:)`` or auto-creation. It
/// answers a committed-offsets request only for the partitions it names. Errors and outages are injected with
/// ``pushRequestErrors(_:_:)`` and ``setBrokerDown(_:)``.
///
/// librdkafka marks the mock API experimental: it is for tests only.
final class RDKafkaMockCluster: @unchecked Sendable {
    /// Kafka protocol request types (ApiKey), the ones tests inject errors into.
    enum Request: Int16, Sendable {
        case produce = 0
        case fetch = 1
        case listOffsets = 2
        case metadata = 3
        case offsetCommit = 8
        case offsetFetch = 9
        case findCoordinator = 10
        case joinGroup = 11
        case heartbeat = 12
        case syncGroup = 14
        case initProducerID = 22
    }

    /// librdkafka error codes (`rd_kafka_resp_err_t`) that tests inject or expect.
    struct ErrorCode: Sendable, Hashable {
        let rawValue: Int32
        fileprivate init(_ code: rd_kafka_resp_err_t) { rawValue = code.rawValue }

        /// Broker: the client may not write to the topic; permanent.
        static let topicAuthorizationFailed = ErrorCode(RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED)
        /// Broker: not enough in-sync replicas; retriable.
        static let notEnoughReplicas = ErrorCode(RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS)
        /// Local: the mock broker drops the connection instead of answering.
        static let transport = ErrorCode(RD_KAFKA_RESP_ERR__TRANSPORT)
        /// Local: `message.timeout.ms` passed before the message was delivered.
        static let messageTimedOut = ErrorCode(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)
    }

    /// The handle the cluster is booked on; its only owner.
    private let client: RDKafkaClient
    private let cluster: OpaquePointer

    /// `host:port,…` of the mock brokers.
    let bootstrapServers: String

    /// Starts `brokers` mock brokers (ids 1 … `brokers`).
    init(brokers: Int = 1, logger: Logger) throws(KafkaError) {
        // A client that connects nowhere: librdkafka books the cluster on it.
        client = try RDKafkaClient(kind: .producer, properties: [:], events: 0, logger: logger)
        guard let cluster = rd_kafka_mock_cluster_new(client.handle, Int32(brokers)) else {
            throw KafkaError(.client, "cannot start a librdkafka mock cluster of \(brokers) brokers")
        }
        // Ownership: the cluster is ours, destroyed in deinit before the client's handle.
        self.cluster = cluster
        bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    deinit {
        rd_kafka_mock_cluster_destroy(cluster)
    }

    /// A connection to this cluster.
    func configuration(clientID: String = "casehub-mock-tests") -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: [bootstrapServers], clientID: clientID)
    }

    /// Creates a topic on the mock brokers (the mock has no CreateTopics request).
    func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws(KafkaError) {
        let code = rd_kafka_mock_topic_create(cluster, name, Int32(partitions), Int32(replicationFactor))
        guard code == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(.topicCreation, "mock topic \(name): \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
        }
    }

    /// The next `errors.count` requests of this type, to any broker, fail
    /// with these errors in order.
    func pushRequestErrors(_ request: Request, _ errors: [ErrorCode]) {
        let codes = errors.map { rd_kafka_resp_err_t(rawValue: $0.rawValue) }
        codes.withUnsafeBufferPointer { buffer in
            rd_kafka_mock_push_request_errors_array(cluster, request.rawValue, buffer.count, buffer.baseAddress)
        }
    }

    /// Drops the errors still waiting for requests of this type.
    func clearRequestErrors(_ request: Request) {
        rd_kafka_mock_clear_request_errors(cluster, request.rawValue)
    }

    /// Disconnects a broker (-1: all) and refuses new connections, without a leader change.
    func setBrokerDown(_ brokerID: Int32 = -1) {
        _ = rd_kafka_mock_broker_set_down(cluster, brokerID)
    }

    /// Lets a broker (-1: all) accept connections again.
    func setBrokerUp(_ brokerID: Int32 = -1) {
        _ = rd_kafka_mock_broker_set_up(cluster, brokerID)
    }

    /// Sets the delay before a new group's first rebalance (3 s by default in
    /// the mock, like Kafka's `group.initial.rebalance.delay.ms`). Returns
    /// false when the loaded librdkafka lacks the setting: it is newer than
    /// the 2.0.2 headers we compile against, so it is looked up at run time.
    @discardableResult
    func setGroupInitialRebalanceDelay(milliseconds: Int32) -> Bool {
        typealias Setter = @convention(c) (OpaquePointer?, Int32) -> Void
        guard let process = dlopen(nil, RTLD_NOW) else { return false }
        defer { dlclose(process) }
        guard let symbol = dlsym(process, "rd_kafka_mock_group_initial_rebalance_delay_ms") else { return false }
        unsafeBitCast(symbol, to: Setter.self)(cluster, milliseconds)
        return true
    }
}
