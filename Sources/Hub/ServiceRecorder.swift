import Backoff
public import CaseModel
import Foundation
public import HubStore
public import Logging
public import ServiceLifecycle

/// Starts the clocks that run from an agency's receipt of a document (送达):
/// applies the service records adapters write as they store a delivery in
/// the served agency's inbox. Each one that starts a clock becomes a
/// `casehub.hub.served.v1` entry in the case's audit trail, in the same
/// transaction as the case, and is told to the document's sender with the
/// clocks it started and their due instants, and to the agency served with
/// its own. Every hub process runs
/// one; records are claimed with SKIP LOCKED, so the processes share them.
public final class ServiceRecorder: Service, Sendable {
    private let configuration: HubConfiguration
    private let store: HubStore
    private let machine: CaseMachine
    /// Signalled when an adapter records a service (``HubNotifications``).
    private let recorded: Wakeup
    private let relayWakeup: Wakeup
    private let logger: Logger
    /// Records applied per transaction.
    static let batchSize = 200

    public init(configuration: HubConfiguration, registry: AgencyRegistry, store: HubStore, recorded: Wakeup,
                relayWakeup: Wakeup, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.machine = CaseMachine(registry: registry, rules: configuration.deadlineRules)
        self.recorded = recorded
        self.relayWakeup = relayWakeup
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let applied = await retryWithBackoff("applying service records", logger: logger) { try await self.applyPending() }
            guard let applied else { break }
            if applied < Self.batchSize {
                // A notification wakes it; the poll only bounds the wait for one lost while the listener reconnected.
                await recorded.wait(timeout: .milliseconds(configuration.relayPollMilliseconds))
            }
        }
    }

    /// Applies one batch of pending records; returns how many it took.
    @discardableResult
    public func applyPending() async throws -> Int {
        let now = AuditEntry.storable(configuration.clock.now)
        let (count, queued) = try await store.withTransaction { transaction in
            let records = try await transaction.claimServiceRecords(limit: Self.batchSize)
            guard !records.isEmpty else { return (0, false) }
            var cases = try await transaction.lockCases(Set(records.map(\.caseID)))
            var queued = false
            for record in records {
                guard let state = cases[record.caseID] else { continue }
                let service = serviceEvent(record)
                guard let transition = machine.recordService(service, on: state) else { continue }
                cases[record.caseID] = transition.state
                transaction.saveCase(transition.state)
                let started = transition.effects.compactMap { effect -> StatutoryDeadline? in
                    if case .deadlineStarted(let deadline) = effect { return deadline }
                    return nil
                }
                transaction.saveDeadlines(caseID: record.caseID, started)
                // The notice names the clocks started; the audit entry is the record the replay applies.
                let notice = serviceEvent(record, started: started)
                transaction.appendAudit(
                    eventID: notice.id.description, caseID: record.caseID, outcome: .accepted, type: notice.type.rawValue,
                    source: notice.source.rawValue, occurredAt: record.servedAt, recordedAt: now,
                    caseVersion: Int64(transition.state.version), body: notice.structured)
                // The agency served hears of its own clocks only (need to know: not, say, the
                // procuratorate's duty to record the recommendation upstream); the sender of all.
                var outbox = [OutboxRecord(topic: configuration.topics.changes, event: notice)]
                if let served = AgencyID(rawValue: record.agency) {
                    outbox.append(OutboxRecord(topic: configuration.topics.to(served),
                                               event: serviceEvent(record, started: started.filter { $0.obligedAgency == served })))
                }
                if let sender = AgencyID(rawValue: record.source), sender != configuration.hubSource, sender.rawValue != record.agency {
                    outbox.append(OutboxRecord(topic: configuration.topics.to(sender), event: notice))
                }
                transaction.enqueue(outbox)
                queued = true
            }
            try await transaction.markServiceRecordsApplied(records.map(\.id), at: now)
            return (records.count, queued)
        }
        if queued { relayWakeup.signal() }
        return count
    }

    /// The hub's record of the service, as an event on the case. Its id is
    /// derived from the record, so that applying it again names the same event.
    private func serviceEvent(_ record: HubTransaction.ServiceRecord, started: [StatutoryDeadline] = []) -> CloudEvent {
        var data: [String: JSONValue] = [
            "servedEventId": .string(record.eventID), "servedAgency": .string(record.agency),
            "servedAt": .string(RFC3339.format(record.servedAt)), "channel": "inbox",
        ]
        if !started.isEmpty {
            data["deadlines"] = .array(started.map { ["rule": .string($0.rule.id), "dueAt": .string(RFC3339.format($0.dueAt))] })
        }
        return CloudEvent(
            id: EventID.derived(from: "service:\(record.agency):\(record.source):\(record.eventID)"),
            source: configuration.hubSource, type: .hubServed, time: record.servedAt, subject: record.caseID, data: .object(data))
    }
}
