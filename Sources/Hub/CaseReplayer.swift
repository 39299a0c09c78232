public import CaseModel
import Foundation
public import HubStore

/// Rebuilds canonical case state from the audit trail alone — every accepted
/// event, in order, through the same state machine — into a fresh table
/// (`cases_replay`), and compares it with the live `cases`.
public struct CaseReplayer: Sendable {
    public struct Report: Sendable {
        public var eventsReplayed: Int
        public var casesRebuilt: Int
        /// Cases whose rebuilt state differs from the live one (or exists on one side only).
        public var mismatches: [String]
        /// Accepted events the state machine refuses on replay.
        public var refusedOnReplay: [String]
        public var isConsistent: Bool { mismatches.isEmpty && refusedOnReplay.isEmpty }
    }

    let store: HubStore
    let machine: CaseMachine
    let pageSize = 2_000

    public init(store: HubStore, registry: AgencyRegistry) {
        self.store = store
        self.machine = CaseMachine(registry: registry)
    }

    public func replay(progress: (Int, Int) -> Void = { _, _ in }) async throws -> Report {
        let total = try await store.acceptedEventCount()
        var states: [String: CaseState] = [:]
        var refused: [String] = []
        var replayed = 0
        var after: Int64 = 0
        while true {
            let page = try await store.acceptedEvents(after: after, limit: pageSize)
            if page.isEmpty { break }
            for audited in page {
                after = audited.seq
                let event = audited.event
                guard let sender = machine.registry[event.source] else {
                    refused.append("seq \(after): unknown sender \(event.source)")
                    continue
                }
                switch machine.apply(event, by: sender, at: audited.recordedAt, to: states[event.subject]) {
                case .success(let transition):
                    states[event.subject] = transition.state
                    for case .link(let other, let relation) in transition.effects {
                        let link = CaseLink(caseID: event.subject, relation: relation)
                        if var linked = states[other], !linked.links.contains(link) {
                            linked.links.append(link)
                            states[other] = linked
                        }
                    }
                case .failure(let refusal):
                    refused.append("seq \(after) (case \(event.subject)): \(refusal.code)")
                }
                replayed += 1
            }
            progress(replayed, total)
        }
        try await store.storeReplayedCases(states.values)
        return Report(eventsReplayed: replayed, casesRebuilt: states.count,
                      mismatches: try await store.casesDifferingFromReplay(), refusedOnReplay: refused)
    }
}
