import CaseModel
import Foundation
import HubStore
import Kafka

/// Where an accepted event goes: to every agency the transition names, a
/// receipt to its sender, and a copy to the `changes` topic. The records go
/// into the outbox with the batch and are published after it commits.
struct Router: Sendable {
    let topics: TopicNames
    let hubSource: AgencyID

    /// `serves`: for a recipient whose receipt of the event starts clocks
    /// (送达), those deadline rules; its delivery says so (``OutboxRecord/servesHeader``).
    func records(for verified: VerifiedEvent, recipients: [AgencyID], serves: [AgencyID: [String]] = [:], caseVersion: Int, receivedAt: Date) -> [OutboxRecord] {
        let event = verified.event
        // Headers and value are the same for every recipient: built once.
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
                delivery.topic = topics.to(recipient)
                if let rules = serves[recipient] {
                    var serving = delivery
                    serving.headers.append(RecordHeader(name: OutboxRecord.servesHeader, value: rules.joined(separator: ",")))
                    outbox.append(serving)
                } else {
                    outbox.append(delivery)
                }
            }
        }
        outbox.append(OutboxRecord(topic: topics.to(verified.sender.id), event: HubEvents.receipt(
            for: event.id.description, caseID: event.subject, sender: verified.sender.id, caseVersion: caseVersion,
            hubSource: hubSource, at: receivedAt)))
        routed.topic = topics.changes
        outbox.append(routed)
        return outbox
    }
}
