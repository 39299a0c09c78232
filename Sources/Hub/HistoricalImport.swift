public import CaseModel
import Crypto
public import Foundation
public import HubStore
public import Logging

/// An administrator's back-fill of historical cases (a city moving its paper
/// cases in): the one mode in which events are placed at their declared
/// `time`, so that the clocks run as they ran on paper.
///
/// Every event goes through the same checks and state machine as a live one
/// (schema, numbers, procedure), marked with the import's id
/// (``CaseMachine/importMark``) in the audit trail, which the replay reads.
/// The whole import is one transaction: any event refused, and nothing is
/// stored; the refusals name each event by its position. Nothing is
/// delivered to the agencies: they find the cases in their views, and
/// deadlines already overdue get their notices at once. The import itself is
/// an administrator's action in the trail, with the file's digest.
public struct HistoricalImport: Sendable {
    public struct Refused: Sendable, Hashable {
        /// The event's position in the import, from 0.
        public var index: Int
        public var eventID: String
        public var refusal: Refusal
    }

    public struct Report: Sendable {
        public var importID: String
        public var events: Int
        public var cases: [String]
        public var dryRun: Bool
        /// Empty when the import was applied (or would be, in a dry run).
        public var refused: [Refused]
    }

    let applier: BatchApplier

    public init(configuration: HubConfiguration, registry: AgencyRegistry, store: HubStore, logger: Logger) {
        applier = BatchApplier(
            store: store, machine: CaseMachine(registry: registry, rules: configuration.deadlineRules), catalogue: .standard,
            router: Router(topics: configuration.topics, hubSource: configuration.hubSource),
            refusals: RefusalRecorder(topics: configuration.topics, registry: registry, hubSource: configuration.hubSource, logger: logger),
            clock: configuration.clock, metrics: nil, logger: logger)
    }

    /// Checks `events`, in order, and stores them unless one is refused or
    /// `dryRun`. `digest` identifies the file the administrator imported.
    public func run(_ events: [CloudEvent], by administrator: AdministrativeActor, digest: String, dryRun: Bool) async throws -> Report {
        let importID = UUID().uuidString.lowercased()
        do {
            return try await applier.store.withTransaction { transaction in
                let report = try await apply(events, importID: importID, by: administrator, digest: digest, dryRun: dryRun, in: &transaction)
                // Rolled back: nothing of a refused or rehearsed import is kept.
                if !report.refused.isEmpty || dryRun { throw Rehearsed(report: report) }
                return report
            }
        } catch let rehearsed as Rehearsed {
            return rehearsed.report
        }
    }

    private struct Rehearsed: Error { let report: Report }

    private func apply(_ given: [CloudEvent], importID: String, by administrator: AdministrativeActor, digest: String, dryRun: Bool,
                       in transaction: inout HubTransaction) async throws -> Report {
        let machine = applier.machine
        let receivedAt = AuditEntry.storable(applier.clock.now)
        let events = given.map { event in
            var marked = event
            marked.extensions[CaseMachine.importMark] = importID
            return marked
        }
        var refused: [Refused] = []
        func refuse(_ index: Int, _ refusal: Refusal) {
            refused.append(Refused(index: index, eventID: events[index].id.description, refusal: refusal))
        }
        let entries = events.map { event in
            HubTransaction.InboxEntry(eventID: event.id.uuid, source: event.source.rawValue,
                                      contentHash: Array(SHA256.hash(data: event.structured.canonicalBytes)))
        }
        let (claims, locked) = try await transaction.claimInboxAndLockCases(entries, cases: Set(events.map(\.subject)), cached: [:])
        var cases = CaseCache(locked)
        var agencies = Set<AgencyID>()
        for (index, event) in events.enumerated() {
            guard claims[index] == .new else {
                refuse(index, Refusal(code: .eventIDReused, reason: "event id \(event.id) of \(event.source) is taken", reasonZH: "事件编号已被使用"))
                continue
            }
            guard let sender = machine.registry[event.source] else {
                refuse(index, Refusal(code: .senderUnknown, reason: "\(event.source) is not a registered agency", reasonZH: "发送机关未登记"))
                continue
            }
            let violations = applier.catalogue.validate(data: event.data, of: event.type)
            guard violations.isEmpty else {
                refuse(index, Refusal(code: applier.catalogue[event.type] == nil ? .typeUnknown : .schemaInvalid,
                                      reason: "the payload breaks \(violations.count) rule(s) of the \(event.type) schema",
                                      reasonZH: "事件内容不符合数据规范", violations: violations))
                continue
            }
            if let refusal = applier.numbers.check(event, sender: sender) {
                refuse(index, refusal)
                continue
            }
            let related = try await applier.relatedCase(of: event, sender: sender, cases: &cases, in: &transaction)
            switch machine.apply(event, by: sender, at: receivedAt, to: cases[event.subject], related: related, backfilled: true) {
            case .failure(let refusal):
                refuse(index, refusal)
            case .success(let transition):
                if event.type == .casePenaltyDecided, let refusal = try await applier.claimPenaltyNumber(of: event, sender: sender, in: &transaction) {
                    refuse(index, refusal)
                    continue
                }
                cases.update(transition.state)
                try await applier.saveEffects(transition, receivedAt: receivedAt, cases: &cases, in: &transaction)
                transaction.appendAudit(
                    eventID: event.id.description, caseID: event.subject, outcome: .accepted, type: event.type.rawValue,
                    source: event.source.rawValue, occurredAt: event.time, recordedAt: receivedAt,
                    caseVersion: Int64(transition.state.version), body: event.structured)
                agencies.insert(sender.id)
            }
        }
        for state in cases.changed { transaction.saveCase(state) }
        let imported = Set(events.map(\.subject)).sorted()
        for agency in agencies.sorted(by: { $0.rawValue < $1.rawValue }) {
            transaction.appendAdministratorAction(.historicalImport, concerning: agency, by: administrator, at: receivedAt, details: [
                "importId": .string(importID), "sha256": .string(digest), "events": .integer(Int64(events.count)),
                "cases": .array(imported.map(JSONValue.string)),
            ])
        }
        return Report(importID: importID, events: events.count, cases: imported, dryRun: dryRun, refused: refused)
    }
}
