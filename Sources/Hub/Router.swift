import CaseModel
import Foundation
import HubStore
import Kafka

/// Where an accepted event goes: to every agency the transition names, as
/// much of it as that agency's role on the case receives (``Disclosure``), a
/// receipt to its sender, and a copy to the `changes` topic. The records go
/// into the outbox with the batch and are published after it commits.
struct Router: Sendable {
    let topics: TopicNames
    let hubSource: AgencyID
    /// Who receives what (`Schemas/disclosure.json`).
    var disclosure = Disclosure.standard

    /// `state` is the case after the event: the recipients' roles on it.
    /// `serves`: for a recipient whose receipt of the event starts clocks
    /// (送达), those deadline rules; its delivery says so (``OutboxRecord/servesHeader``).
    func records(for verified: VerifiedEvent, recipients: [AgencyID], serves: [AgencyID: [String]] = [:], state: CaseState,
                 receivedAt: Date) -> [OutboxRecord] {
        let event = verified.event
        let caseVersion = state.version
        // Built once; only a recipient that receives less than the whole event gets its own.
        var routed = OutboxRecord(topic: topics.changes, event: event)
        var outbox: [OutboxRecord] = []
        outbox.reserveCapacity(recipients.count + 2)
        if !recipients.isEmpty {
            var delivery = routed
            // When the sender's adapter produced it, so that the receiver's adapter can measure end to end.
            if let produced = verified.message.timestampMilliseconds {
                delivery.headers.append(RecordHeader(name: OutboxRecord.submittedAtHeader, value: String(produced)))
            }
            for recipient in recipients {
                guard var disclosed = disclose(delivery, of: event, to: recipient, on: state) else { continue }
                disclosed.topic = topics.to(recipient)
                if let rules = serves[recipient] {
                    disclosed.headers.append(RecordHeader(name: OutboxRecord.servesHeader, value: rules.joined(separator: ",")))
                }
                outbox.append(disclosed)
            }
        }
        outbox.append(OutboxRecord(topic: topics.to(verified.sender.id), event: HubEvents.receipt(
            for: event.id.description, caseID: event.subject, sender: verified.sender.id, caseVersion: caseVersion,
            hubSource: hubSource, at: receivedAt)))
        routed = feedRecord(routed, of: event)
        routed.topic = topics.changes
        outbox.append(routed)
        return outbox
    }
}
