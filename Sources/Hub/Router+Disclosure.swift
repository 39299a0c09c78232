import CaseModel
import HubStore

extension Router {
    /// The delivery as `recipient` receives it, by its role on the case
    /// after the event; nil when that role receives nothing of it. A partial
    /// delivery keeps the record's headers that are not the event's own
    /// (e.g. `casehub_submitted_at`).
    func disclose(_ delivery: OutboxRecord, of event: CloudEvent, to recipient: AgencyID, on state: CaseState) -> OutboxRecord? {
        let roles = Disclosure.roles(of: recipient, on: state)
        guard let fields = disclosure.fieldSet(for: event.type, in: state.procedure, to: roles) else { return nil }
        if case .all = fields { return delivery }
        let disclosed = Disclosure.applying(fields, to: event)
        return disclosed == event ? delivery : rebuilt(delivery, as: disclosed)
    }

    /// The `changes` record: the event without the personal data its type lists.
    func feedRecord(_ record: OutboxRecord, of event: CloudEvent) -> OutboxRecord {
        disclosure.forFeed(.changes, event).map { rebuilt(record, as: $0) } ?? record
    }

    private func rebuilt(_ record: OutboxRecord, as event: CloudEvent) -> OutboxRecord {
        var rebuilt = OutboxRecord(topic: record.topic, event: event)
        rebuilt.headers += record.headers.filter { !$0.name.hasPrefix("ce_") && $0.name != CloudEvent.contentTypeHeader }
        return rebuilt
    }
}
