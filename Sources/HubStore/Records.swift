public import CaseModel
import Crypto
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

    /// On a delivery whose receipt starts the recipient's clocks (送达): the
    /// deadline rules that await it. The recipient's adapter records the
    /// delivery into its inbox as the service (``DeliveryStore``).
    public static let servesHeader = "casehub_serves"

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

/// Who refused: the hub (an event read off an agency topic) or an agency's
/// adapter (the agency's request, answered with a 4xx). The `stage` of a
/// `rejections` row; rows from before there were two are the hub's.
public enum RejectionStage: String, Sendable, Hashable, CaseIterable {
    case hub, adapter
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


/// A request an agency's adapter refused with a 4xx answer, stored for
/// administrators beside the hub's refusals (`rejections`, stage `adapter`;
/// ``AdapterRejectionStore``). It never reached the hub, so it cannot be replayed.
public struct AdapterRejection: Sendable, Hashable {
    /// The agency whose credential made the request: its token's, or the
    /// file-drop folder's. Stored as the row's `source`.
    public var agency: AgencyID
    /// The agency the request claimed to be, when another than ``agency``.
    public var claimedAgency: AgencyID?
    /// SHA-256 of the bearer token used, as `agency_tokens` keeps it; nil for the file drop.
    public var tokenHash: [UInt8]?
    /// What was asked, e.g. `POST /v1/agencies/zz-epb/events`.
    public var request: String
    /// The status the request was answered with; nil for a refused delivery (no request).
    public var httpStatus: Int?
    public var code: RefusalCode
    /// What was wrong, in English (the problem's detail, or more for administrators).
    public var reason: String
    public var violations: [Violation]
    public var body: RefusedBody
    /// A record the adapter refused to take from its agency's `to.` topic
    /// (not the hub's: ``RefusedDelivery``); nil for a refused request.
    public var delivery: RefusedDelivery?

    public init(agency: AgencyID, claimedAgency: AgencyID?, tokenHash: [UInt8]?, request: String, httpStatus: Int?,
                code: RefusalCode, reason: String, violations: [Violation] = [], body: RefusedBody, delivery: RefusedDelivery? = nil) {
        self.agency = agency
        self.claimedAgency = claimedAgency == agency ? nil : claimedAgency
        self.tokenHash = tokenHash
        self.request = request
        self.httpStatus = httpStatus
        self.code = code
        self.reason = reason
        self.violations = violations
        self.body = body
        self.delivery = delivery
    }
}

/// What an adapter keeps of a record it refused on its agency's `to.`
/// topic: where it was, and what it claimed to be (its CloudEvents headers).
public struct RefusedDelivery: Sendable, Hashable {
    public var topic: String
    public var headers: [RecordHeader]
    public var eventID: String?
    public var caseID: String?
    public var type: String?

    public init(topic: String, headers: [RecordHeader], eventID: String?, caseID: String?, type: String?) {
        self.topic = topic
        self.headers = headers
        self.eventID = eventID
        self.caseID = caseID
        self.type = type
    }
}

/// What is kept of a refused request's body: the body itself up to
/// ``storedLimit`` bytes; beyond, only its size and SHA-256, so that a flood
/// of large refused bodies cannot fill the database.
public struct RefusedBody: Sendable, Hashable {
    /// 64 KiB.
    public static let storedLimit = 64 << 10

    /// The body, when it was read and is at most ``storedLimit`` bytes.
    public var bytes: [UInt8]?
    /// Bytes as read, or as the request declared them (`Content-Length`)
    /// when it was refused before its body was read; nil when unknown.
    public var size: Int?
    /// SHA-256 of the body as read; nil when it was not read.
    public var sha256: [UInt8]?

    /// A body that was read.
    public init(read body: [UInt8]) {
        bytes = body.count <= Self.storedLimit ? body : nil
        size = body.count
        sha256 = Array(SHA256.hash(data: body))
    }

    /// A body refused before it was read (over the size limit, another agency's token).
    public init(unreadDeclaring size: Int?) {
        bytes = nil
        self.size = size
        sha256 = nil
    }
}
