public import CaseModel
public import Kafka

/// The CloudEvents Kafka binding (binary mode) over the Kafka module's record
/// types: where a ``RecordHeader`` becomes a ``KafkaHeader`` and back. Kept
/// apart so that the domain (`CaseModel`) knows no Kafka client and the
/// Kafka wrapper knows no domain.
extension KafkaMessage {
    /// The record's headers whose values are UTF-8 text (CaseHub writes no others).
    public var recordHeaders: [RecordHeader] {
        headers.compactMap { header in header.stringValue.map { RecordHeader(name: header.key, value: $0) } }
    }

    /// The event this record carries, read with the same checks as structured mode.
    public func cloudEvent() throws(EnvelopeError) -> CloudEvent {
        try CloudEvent(binaryHeaders: recordHeaders, value: value)
    }
}

extension KafkaOutgoingMessage {
    /// A record with text headers.
    public init(topic: String, key: String?, headers: [RecordHeader], value: [UInt8]) {
        self.init(topic: topic, key: key, value: value, headers: headers.map { KafkaHeader(key: $0.name, string: $0.value) })
    }

    /// An event in binary mode, keyed by its case id.
    public init(topic: String, event: CloudEvent) {
        self.init(topic: topic, key: event.subject, headers: event.binaryHeaders, value: event.binaryValue)
    }
}
