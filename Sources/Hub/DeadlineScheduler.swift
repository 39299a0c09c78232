import CaseModel
public import Foundation
public import HubStore
public import Logging
public import ServiceLifecycle

/// Emits deadline warnings and overdue notices through the outbox, exactly
/// once per deadline and stage (the marks are written in the notice's
/// transaction). One instance is active: it holds a PostgreSQL advisory lock
/// on a session of its own; when that process dies, its session ends, the
/// lock is released and another instance takes over at its next round.
public final class DeadlineScheduler: Service, Sendable {
    static let leaderLockKey: Int64 = 0x4341_5345_4855_4203

    private let configuration: HubConfiguration
    private let store: HubStore
    private let relayWakeup: Wakeup
    private let logger: Logger

    public init(configuration: HubConfiguration, store: HubStore, relayWakeup: Wakeup, logger: Logger) {
        self.configuration = configuration
        self.store = store
        self.relayWakeup = relayWakeup
        self.logger = logger
    }

    public func run() async throws {
        let interval = Duration.milliseconds(configuration.deadlineScanMilliseconds)
        await store.leaderSession(lockKey: Self.leaderLockKey).leadUntilShutdown("deadline scheduler", every: interval, logger: logger) {
            while try await scanOnce(asOf: configuration.clock.now) == configuration.deadlineScanBatch {}
        }
    }

    /// One round: queues the notices due as of `instant`; returns how many deadlines it handled.
    @discardableResult
    public func scanOnce(asOf instant: Date) async throws -> Int {
        let now = AuditEntry.storable(instant)
        let handled = try await store.withTransaction { transaction in
            let due = try await transaction.lockDueDeadlines(asOf: now, limit: configuration.deadlineScanBatch)
            let notices = DeadlineNotices(topics: configuration.topics, hubSource: configuration.hubSource)
            for deadline in due {
                let overdue = deadline.dueAt <= now
                notices.queue(.init(caseID: deadline.caseID, ruleID: deadline.ruleID, legalBasis: deadline.legalBasis, dueAt: deadline.dueAt,
                                    obligedAgency: deadline.obligedAgency, recipients: deadline.recipients),
                              overdue: overdue, at: now, in: &transaction)
                try await transaction.markNotified(caseID: deadline.caseID, ruleID: deadline.ruleID, overdue: overdue, at: now)
                logger.info("deadline notice queued", metadata: [
                    "casehub.case_id": "\(deadline.caseID)", "casehub.deadline": "\(deadline.ruleID)", "casehub.stage": "\(overdue ? "overdue" : "warning")",
                ])
            }
            return due.count
        }
        if handled > 0 { relayWakeup.signal() }
        return handled
    }
}
