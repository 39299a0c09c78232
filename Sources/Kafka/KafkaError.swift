/// An error from the Kafka layer: a stable ``Code`` to branch on, the message
/// librdkafka gave, and where it was raised.
public struct KafkaError: Error, CustomStringConvertible, Sendable {
    /// What went wrong. Extensible: match the cases you handle and keep a default.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate enum Base: Hashable, Sendable {
            case configuration, unsupportedLibrary, client, delivery, timeout, closed, topicCreation, admin, commit, fatal
        }
        fileprivate let base: Base
        /// A property was rejected by librdkafka.
        public static let configuration = Code(base: .configuration)
        /// The loaded librdkafka is too old for CaseHub.
        public static let unsupportedLibrary = Code(base: .unsupportedLibrary)
        /// Creating or using the client handle failed.
        public static let client = Code(base: .client)
        /// A produced message was not delivered.
        public static let delivery = Code(base: .delivery)
        /// A broker request did not finish in time.
        public static let timeout = Code(base: .timeout)
        /// The client was shut down.
        public static let closed = Code(base: .closed)
        /// Creating a topic failed for a reason other than that it exists.
        public static let topicCreation = Code(base: .topicCreation)
        /// An admin request (metadata, offsets, watermarks) failed.
        public static let admin = Code(base: .admin)
        /// Committing consumer offsets failed.
        public static let commit = Code(base: .commit)
        /// librdkafka raised a fatal error: the client cannot be used any more.
        public static let fatal = Code(base: .fatal)

        public var description: String { String(describing: base) }
    }

    public let code: Code
    public let message: String
    /// librdkafka's numeric error code (its `resp_err_t` value) when the error came from librdkafka.
    public let librdkafkaCode: Int32?
    /// Whether librdkafka says the same operation may succeed if tried again.
    public let isRetriable: Bool
    public let file: String
    public let line: UInt

    init(_ code: Code, _ message: String, librdkafkaCode: Int32? = nil, isRetriable: Bool = false,
         file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.message = message
        self.librdkafkaCode = librdkafkaCode
        self.isRetriable = isRetriable
        self.file = file
        self.line = line
    }

    public var isFatal: Bool { code == .fatal }

    /// A message that was not delivered and never will be as it is (too
    /// large, invalid, unauthorised, unknown topic). A broker away or a time
    /// out is not permanent: the message may go through later.
    public var isPermanentDeliveryFailure: Bool {
        guard code == .delivery, !isRetriable, let librdkafkaCode else { return false }
        return RDKafkaClient.isPermanentProduceError(librdkafkaCode)
    }

    public var description: String {
        "KafkaError(\(code)): \(message)"
    }
}
