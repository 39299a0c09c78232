import CaseModel
import Foundation
import HubStore

/// The hub's warning and overdue notices of a statutory deadline, in one
/// shape whoever queues them: the scheduler when a deadline comes due, or the
/// batch that starts a deadline already past due (a case entered late).
/// Each goes to the rule's recipients (the obliged agency, the case's holder,
/// and a supervising party where the rule names one:
/// ``DeadlineRule/noticeRecipients(obliged:on:)``) and `changes`, and is
/// audited in the case's chain.
struct DeadlineNotices: Sendable {
    let topics: TopicNames
    let hubSource: AgencyID

    struct Deadline {
        var caseID: String
        var ruleID: String
        var legalBasis: String
        var dueAt: Date
        var obligedAgency: String
        /// The obliged agency first.
        var recipients: [String]
    }

    /// Queues the notice in `transaction`; the caller marks the deadline notified.
    func queue(_ deadline: Deadline, overdue: Bool, at now: Date, in transaction: inout HubTransaction) {
        let notice = CloudEvent(
            source: hubSource,
            type: overdue ? EventType.hubDeadlineOverdue : EventType.hubDeadlineWarning,
            time: now, subject: deadline.caseID,
            data: [
                "deadlineId": .string(String("\(deadline.caseID):\(deadline.ruleID)".prefix(200))),
                "rule": .string(deadline.ruleID),
                "legalBasis": .string(deadline.legalBasis),
                "dueAt": .string(RFC3339.format(deadline.dueAt)),
                "obligedAgency": .string(deadline.obligedAgency),
            ])
        transaction.appendAudit(
            eventID: notice.id.description, caseID: deadline.caseID, outcome: .admin, type: notice.type.rawValue, source: hubSource.rawValue,
            occurredAt: now, recordedAt: now, caseVersion: nil, body: notice.structured)
        var outbox = deadline.recipients.compactMap(AgencyID.init(rawValue:)).map { OutboxRecord(topic: topics.to($0), event: notice) }
        outbox.append(OutboxRecord(topic: topics.changes, event: notice))
        transaction.enqueue(outbox)
    }
}
