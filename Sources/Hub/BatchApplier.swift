import CaseHubMetrics
import CaseModel
import Foundation
import HubStore
import Kafka
import Logging

/// Applies a screened batch in one PostgreSQL transaction: one statement
/// claims every event id in the inbox, one locks every case named, the state
/// machine runs in memory, and the writes (cases, deadlines, audit trail,
/// outbox, rejections) go out together at commit.
struct BatchApplier: Sendable {
    let store: HubStore
    let machine: CaseMachine
    let catalogue: EventCatalogue
    let router: Router
    let refusals: RefusalRecorder
    /// The hub's clock: when it received a batch, the legal instant of its events.
    let clock: HubClock
    let metrics: CaseHubMetrics?
    let logger: Logger
    /// States this process committed, so that a batch need not decode them again.
    let committedCases = CommittedCases()
    var notices: DeadlineNotices { DeadlineNotices(topics: router.topics, hubSource: router.hubSource) }
    var numbers: DocumentNumberRules { DocumentNumberRules(registry: machine.registry) }

    /// Applies the batch; an event that fails on its own is refused alone
    /// (``FailingEventIsolation``). Throws only transient failures, for the
    /// caller to retry the same batch.
    func applyIsolatingFailures(_ batch: [ScreenedEvent]) async throws {
        let isolation = FailingEventIsolation<ScreenedEvent>(
            apply: { try await apply($0) },
            refuseAlone: { item, error in try await refuseUnprocessable(item, error: error) },
            logger: logger)
        try await isolation.run(batch[...])
    }

    func apply(_ screened: ArraySlice<ScreenedEvent>) async throws {
        let receivedAt = AuditEntry.storable(clock.now)
        var inboxEntries: [HubTransaction.InboxEntry] = []
        var subjects = Set<String>()
        for case .verified(let verified) in screened {
            inboxEntries.append(inboxEntry(verified))
            subjects.insert(verified.event.subject)
        }
        let cached = committedCases.lookup(subjects)
        let ((decided, closedDeadlines), written) = try await store.withTransactionWritten { transaction in
            let (claimed, locked) = try await transaction.claimInboxAndLockCases(inboxEntries, cases: subjects, cached: cached)
            var claims = claimed.makeIterator()
            var cases = CaseCache(locked)
            for item in screened {
                switch item {
                case .refused(let message, let event, let refusal):
                    refusals.refuse(message, event: event, refusal, receivedAt: receivedAt, in: &transaction)
                case .verified(let verified):
                    switch claims.next()! {
                    case .duplicate:
                        logger.debug("duplicate event absorbed", metadata: ["casehub.event_id": "\(verified.event.id)"])
                    case .conflicting:
                        refusals.refuse(verified.message, event: verified.event, Refusal(
                            code: .eventIDReused,
                            reason: "event id \(verified.event.id) was already used for an event with different content",
                            reasonZH: "事件编号已被内容不同的事件使用"), receivedAt: receivedAt, in: &transaction)
                    case .new:
                        if try await !accept(verified, receivedAt: receivedAt, cases: &cases, in: &transaction) {
                            transaction.releaseInboxClaim(of: inboxEntry(verified))
                        }
                    }
                }
            }
            for state in cases.changed { transaction.saveCase(state) }
            return (transaction.appended, transaction.closedDeadlines)
        }
        committedCases.store(written)
        // Counted once committed: a batch retried or bisected is not counted twice.
        if let metrics {
            let committedAt = Date()
            for item in screened {
                if let produced = item.message.timestampMilliseconds {
                    metrics.submissionCommitted(after: committedAt.timeIntervalSince1970 - Double(produced) / 1000)
                }
            }
            for entry in decided where entry.outcome != .admin {
                metrics.event(outcome: entry.outcome.rawValue, type: entry.type, agency: entry.source,
                              code: entry.outcome == .refused ? entry.body["code"]?.stringValue : nil)
            }
            for outcome in closedDeadlines { metrics.deadlineClosed(outcome: outcome) }
        }
    }

    private func inboxEntry(_ verified: VerifiedEvent) -> HubTransaction.InboxEntry {
        .init(eventID: verified.event.id.uuid, source: verified.sender.id.rawValue, contentHash: verified.contentHash)
    }

    /// Judges a new event: accepted and applied, or refused with a receipt.
    /// Returns whether it was accepted.
    private func accept(_ verified: VerifiedEvent, receivedAt: Date, cases: inout CaseCache, in transaction: inout HubTransaction) async throws -> Bool {
        let event = verified.event
        guard verified.violations.isEmpty else {
            let unknownType = catalogue[event.type] == nil
            refusals.refuse(verified.message, event: event, Refusal(
                code: unknownType ? .typeUnknown : .schemaInvalid,
                reason: unknownType ? "unknown event type \(event.type.rawValue.prefix(100))" : "the payload breaks \(verified.violations.count) rule(s) of the \(event.type) schema",
                reasonZH: unknownType ? "未知的事件类型" : "事件内容不符合数据规范", violations: verified.violations), receivedAt: receivedAt, in: &transaction)
            return false
        }
        if let refusal = numbers.check(event, sender: verified.sender) {
            refusals.refuse(verified.message, event: event, refusal, receivedAt: receivedAt, in: &transaction)
            return false
        }
        let related = try await relatedCase(of: event, sender: verified.sender, cases: &cases, in: &transaction)
        let transition: Transition
        switch machine.apply(event, by: verified.sender, at: receivedAt, to: cases[event.subject], related: related) {
        case .failure(let refusal):
            refusals.refuse(verified.message, event: event, refusal, receivedAt: receivedAt, in: &transaction)
            return false
        case .success(let applied):
            transition = applied
        }
        if event.type == .casePenaltyDecided, let refusal = try await claimPenaltyNumber(of: event, sender: verified.sender, in: &transaction) {
            refusals.refuse(verified.message, event: event, refusal, receivedAt: receivedAt, in: &transaction)
            return false
        }
        let state = transition.state
        cases.update(state)
        try await saveEffects(transition, receivedAt: receivedAt, cases: &cases, in: &transaction)
        transaction.appendAudit(
            eventID: event.id.description, caseID: event.subject, outcome: .accepted, type: event.type.rawValue, source: event.source.rawValue,
            occurredAt: event.time, recordedAt: receivedAt, caseVersion: Int64(state.version),
            body: verified.structured, bodyBytes: verified.structuredBytes)
        transaction.enqueue(router.records(for: verified, recipients: transition.recipients, serves: transition.awaitedServices,
                                           state: state, receivedAt: receivedAt))
        return true
    }

    /// The other case the event's rules look at (CaseMachine.relatedCaseID),
    /// or the one a penalty decision names by the bureau's own number for it
    /// (`relatedNumber`), locked with the batch's cases; nil when there is
    /// none or it does not exist.
    func relatedCase(of event: CloudEvent, sender: Agency, cases: inout CaseCache,
                             in transaction: inout HubTransaction) async throws -> CaseState? {
        var relatedID = CaseMachine.relatedCaseID(of: event, on: cases[event.subject])
        if relatedID == nil, event.type == .casePenaltyDecided, let number = event.data["relatedNumber"]?.stringValue {
            relatedID = try await transaction.caseID(numbered: number, by: sender.id.rawValue)
        }
        guard let relatedID, relatedID != event.subject else { return nil }
        if !cases.contains(relatedID) { cases.noteLoaded(relatedID, try await transaction.lockCase(relatedID)) }
        return cases[relatedID]
    }

    /// Claims the decision's number for its bureau; the refusal when another
    /// decision already used it.
    func claimPenaltyNumber(of event: CloudEvent, sender: Agency, in transaction: inout HubTransaction) async throws -> Refusal? {
        let number = PenaltyDecisionNumber.normalised(event.data["decisionNumber"]?.stringValue ?? "")
        guard let holder = try await transaction.claimPenaltyDecision(
            issuer: sender.id.rawValue, number: number, caseID: event.subject, eventID: event.id.description) else { return nil }
        return Refusal(
            code: .penaltyNumberReused,
            reason: "\(sender.id) already recorded penalty decision \(number) on case \(holder): a decision number is used once",
            reasonZH: "\(sender.name)已在案件\(holder)中使用处罚决定书编号\(number)，同一编号不得用于另一处罚决定",
            violations: [Violation(path: "/data/decisionNumber", rule: "unique", message: "used before on case \(holder)")])
    }

    /// Deadlines that changed, and links to mirror on the other case. A
    /// deadline that starts already past due (a case entered late) gets its
    /// overdue notice now, in this transaction, exactly once: not whenever
    /// the scheduler happens to look, which a quick next step could pre-empt.
    func saveEffects(_ transition: Transition, receivedAt: Date, cases: inout CaseCache,
                             in transaction: inout HubTransaction) async throws {
        let state = transition.state
        var changed: [String] = []
        var noticed: [String: Date] = [:]
        for effect in transition.effects {
            switch effect {
            case .deadlineStarted(let deadline):
                changed.append(deadline.id)
                if deadline.state == .running, deadline.dueAt <= receivedAt {
                    notices.queue(.init(caseID: state.caseID, ruleID: deadline.rule.id, legalBasis: deadline.rule.legalBasis, dueAt: deadline.dueAt,
                                        obligedAgency: deadline.obligedAgency.rawValue,
                                        recipients: deadline.rule.noticeRecipients(obliged: deadline.obligedAgency, on: state).map(\.rawValue)),
                                  overdue: true, at: receivedAt, in: &transaction)
                    noticed[deadline.id] = receivedAt
                }
            case .deadlineMet(let id, _), .deadlineStopped(let id), .deadlineSuspended(let id): changed.append(id)
            case .deadlineResumed(let deadline): changed.append(deadline.id)
            case .link(let otherID, let relation):
                // The other case is rarely in the batch: locked on demand.
                if !cases.contains(otherID) { cases.noteLoaded(otherID, try await transaction.lockCase(otherID)) }
                if var other = cases[otherID] {
                    let link = CaseLink(caseID: state.caseID, relation: relation)
                    if !other.links.contains(link) {
                        other.links.append(link)
                        cases.update(other)
                    }
                }
            case .notify:
                break
            }
        }
        transaction.saveDeadlines(caseID: state.caseID, changed.compactMap { state.deadlines[$0] }, overdueNoticeAt: noticed)
    }

    /// An event that fails on its own (e.g. text PostgreSQL cannot store) is
    /// refused with a reason, its raw record kept; the rest of the log moves on.
    private func refuseUnprocessable(_ item: ScreenedEvent, error: any Error) async throws {
        let message = item.message
        logger.error("event cannot be processed; refused", metadata: [
            "kafka.topic": "\(message.topic)", "kafka.offset": "\(message.offset)", "error": "\(error)",
        ])
        let refusal = Refusal(code: .eventUnprocessable,
                              reason: "the hub could not store this event (\(String(describing: error).prefix(200))); it was refused so that others proceed",
                              reasonZH: "枢纽无法处理该事件，已拒收")
        let receivedAt = AuditEntry.storable(clock.now)
        let event: CloudEvent? = switch item {
        case .refused(_, let event, _): event
        case .verified(let verified): verified.event
        }
        do {
            try await store.withTransaction { transaction in
                refusals.refuse(message, event: event, refusal, receivedAt: receivedAt, in: &transaction)
            }
        } catch let failure where !FailingEventIsolation<ScreenedEvent>.isTransient(failure) {
            // Last resort, so that one record can never stall the hub: the
            // record stays in Kafka at this offset, and the log says where.
            logger.critical("event could not even be recorded as refused; skipped", metadata: [
                "kafka.topic": "\(message.topic)", "kafka.partition": "\(message.partition)",
                "kafka.offset": "\(message.offset)", "error": "\(failure)",
            ])
        }
    }
}
