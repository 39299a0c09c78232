import CaseModel
import Foundation
import HubStore
import Kafka
import Logging

/// Everything a refusal leaves behind, in the batch's transaction: a row in
/// `rejections` with the raw record, an audit entry, a receipt to the sender
/// (when it is a registered agency) and the record itself on the `rejected`
/// topic with the reason in its headers. Nothing refused is dropped silently.
struct RefusalRecorder: Sendable {
    let topics: TopicNames
    let registry: AgencyRegistry
    let hubSource: AgencyID
    let logger: Logger
    /// What the `rejected` topic withholds (`Schemas/disclosure.json`).
    var disclosure = Disclosure.standard

    func refuse(_ message: KafkaMessage, event: CloudEvent?, _ refusal: Refusal, receivedAt: Date, in transaction: inout HubTransaction) {
        let sender = topics.sender(ofTopic: message.topic)
        let headerText = message.headers.map {
            RecordHeader(name: Self.storable($0.key, limit: 200), value: $0.stringValue.map { Self.storable($0, limit: 10_000) } ?? "<binary>")
        }
        // From a refused envelope only what fits is kept: these end up in ids, keys and text columns.
        let eventID = (event?.id.description ?? message.header("ce_id")?.stringValue).map { Self.storable($0, limit: 64) }
        let caseID = (event?.subject ?? message.header("ce_subject")?.stringValue).map { Self.storable($0, limit: 128) }.flatMap { $0.isEmpty ? nil : $0 }
        let type = (event?.type.rawValue ?? message.header("ce_type")?.stringValue).map { Self.storable($0, limit: 200) }
        var refusal = refusal
        refusal.reason = Self.storable(refusal.reason, limit: 4_000)
        logger.info("event refused", metadata: [
            "casehub.event_id": "\(eventID ?? "-")", "casehub.agency": "\(sender?.rawValue ?? "-")", "casehub.refusal": "\(refusal.code)",
        ])
        transaction.recordRejection(RejectionRecord(
            eventID: eventID, source: sender?.rawValue, topic: message.topic, caseID: caseID, type: type,
            code: refusal.code.rawValue, reason: refusal.reason, violations: refusal.violationsJSON,
            headers: headerText, value: message.value))
        transaction.appendAudit(
            eventID: eventID, caseID: caseID, outcome: .refused, type: type ?? "unknown", source: sender?.rawValue ?? "unknown",
            occurredAt: event?.time ?? receivedAt, recordedAt: receivedAt, caseVersion: nil,
            body: .object(["code": .string(refusal.code.rawValue), "reason": .string(refusal.reason), "reasonZH": .string(refusal.reasonZH),
                           "violations": refusal.violationsJSON]))

        var outbox: [OutboxRecord] = []
        let key = caseID ?? sender?.rawValue ?? "unknown"
        if let sender, registry[sender] != nil {
            outbox.append(OutboxRecord(topic: topics.to(sender), event: HubEvents.receipt(
                for: eventID ?? "unknown", caseID: key, sender: sender, refusal: refusal,
                hubSource: hubSource, at: receivedAt)))
        }
        // The refused record itself, with the reason in headers, for administrators
        // (without the personal data its type lists: `rejections` keeps it whole).
        let withheld = type.flatMap { disclosure.forFeed(.rejected, value: message.value, of: EventType(rawValue: $0)) }
        outbox.append(OutboxRecord(
            topic: topics.rejected, key: key,
            headers: headerText + [RecordHeader(name: "casehub_refusal_code", value: refusal.code.rawValue),
                                   RecordHeader(name: "casehub_refusal_reason", value: refusal.reason)]
                + (withheld == nil ? [] : [RecordHeader(name: "casehub_disclosure", value: "partial")]),
            value: withheld ?? message.value))
        transaction.enqueue(outbox)
    }

    /// Text PostgreSQL can store (no NUL), cut to a length.
    static func storable(_ text: String, limit: Int) -> String {
        String(String(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }.map(Character.init)).prefix(limit))
    }
}
