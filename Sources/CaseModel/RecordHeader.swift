/// A Kafka record header as CaseHub handles it above the Kafka layer: a name
/// and UTF-8 text (every header CaseHub writes is text: the CloudEvents
/// `ce_*` attributes, `content-type`, the hub's own `casehub_*` headers).
/// The Kafka module's `KafkaHeader` carries bytes on the wire; the two meet
/// only where records are produced and consumed.
public struct RecordHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

extension Array where Element == RecordHeader {
    /// The value of the first header with this name.
    public func value(of name: String) -> String? {
        first { $0.name == name }?.value
    }
}
