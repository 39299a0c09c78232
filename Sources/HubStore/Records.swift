public import CaseModel
import Foundation
import Postgres

/// A Kafka record waiting in the outbox.
public struct OutboxRecord: Sendable, Hashable {
    public var topic: String
    public var key: String?
    public var headers: [RecordHeader]
    public var value: [UInt8]

    public init(topic: String, key: String?, headers: [RecordHeader], value: [UInt8]) {
        self.topic = topic
        self.key = key
        self.headers = headers
        self.value = value
    }

    /// A CloudEvent in binary mode, to `topic`, keyed by its case id.
    public init(topic: String, event: CloudEvent) {
        self.init(topic: topic, key: event.subject,
                  headers: event.binaryHeaders,
                  value: event.binaryValue)
    }

    /// On events routed to a recipient: when the sender's adapter produced the
    /// event (Kafka timestamp, milliseconds since 1970).
    public static let submittedAtHeader = "casehub_submitted_at"

    var headersJSON: JSONValue {
        .array(headers.map { .array([.string($0.name), .string($0.value)]) })
    }

    /// Records with the same ordering key are published in the order they
    /// were written, and one that is parked holds back the later ones: the
    /// key is the case id (the record's Kafka key), or the topic for a record
    /// without a key.
    public var orderingKey: String { key ?? "topic:\(topic)" }

    /// The outbox shard: for a record keyed by a case, the shard of the case's
    /// audit chain, so that a transaction locks no extra head for it.
    func shard(count: Int) -> Int {
        AuditShards.shard(of: key.map { AuditShards.key(caseID: $0, source: "") } ?? orderingKey, count: count)
    }
}

/// A refused event as stored for administrators.
public struct RejectionRecord: Sendable, Hashable {
    public var eventID: String?
    public var source: String?
    public var topic: String
    public var caseID: String?
    public var type: String?
    /// Machine-readable refusal code, e.g. `envelope.invalid`, `sender.mismatch`.
    public var code: String
    /// Human-readable reason.
    public var reason: String
    public var violations: JSONValue
    public var headers: [RecordHeader]
    public var value: [UInt8]

    public init(eventID: String?, source: String?, topic: String, caseID: String?, type: String?, code: String,
                reason: String, violations: JSONValue = .array([]), headers: [RecordHeader], value: [UInt8]) {
        self.eventID = eventID
        self.source = source
        self.topic = topic
        self.caseID = caseID
        self.type = type
        self.code = code
        self.reason = reason
        self.violations = violations
        self.headers = headers
        self.value = value
    }

    var headersJSON: JSONValue {
        .array(headers.map { .array([.string($0.name), .string($0.value)]) })
    }
}

