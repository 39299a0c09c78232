public import CaseModel
import Foundation
public import HubStore

/// Rebuilds canonical case state from the audit trail alone — every accepted
/// event, in order, through the same state machine — into a fresh table
/// (`cases_replay`), and compares it with the live `cases`.
///
/// The trail is streamed in one COPY; chunks are decoded (JSON, envelope) on
/// other tasks, a few ahead, while this one applies them strictly in audit
/// order: one event may add a link to another case, so application stays
/// sequential.
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
    /// Chunks being decoded ahead of the one applied: enough to keep every core busy.
    let decodeAhead = max(2, ProcessInfo.processInfo.activeProcessorCount)

    public init(store: HubStore, registry: AgencyRegistry) {
        self.store = store
        self.machine = CaseMachine(registry: registry)
    }

    /// `progress(replayed, total)` after each chunk applied.
    public func replay(progress: (Int, Int) -> Void = { _, _ in }) async throws -> Report {
        let total = try await store.acceptedEventCount()
        var rebuild = Rebuild(machine: machine)
        var decoding: [Task<[HubStore.AuditedEvent], any Error>] = []
        do {
            try await store.streamAcceptedEvents { chunk in
                decoding.append(Task.detached { try chunk.decode() })
                if decoding.count > decodeAhead {
                    rebuild.apply(try await decoding.removeFirst().value)
                    progress(rebuild.replayed, total)
                }
            }
            while !decoding.isEmpty {
                rebuild.apply(try await decoding.removeFirst().value)
                progress(rebuild.replayed, total)
            }
        } catch {
            decoding.forEach { $0.cancel() }
            throw error
        }
        try await store.storeReplayedCases(rebuild.states.values)
        return Report(eventsReplayed: rebuild.replayed, casesRebuilt: rebuild.states.count,
                      mismatches: try await store.casesDifferingFromReplay(), refusedOnReplay: rebuild.refused)
    }

    /// The states rebuilt so far.
    struct Rebuild {
        let machine: CaseMachine
        var states: [String: CaseState] = [:]
        var refused: [String] = []
        var replayed = 0

        mutating func apply(_ events: [HubStore.AuditedEvent]) {
            for audited in events {
                let event = audited.event
                if event.type == .hubServed {
                    // The hub's record of a service: the clocks it started.
                    if let state = states[event.subject], let transition = machine.recordService(event, on: state) {
                        states[event.subject] = transition.state
                    } else {
                        refused.append("seq \(audited.seq) (case \(event.subject)): a service that starts no clock")
                    }
                    replayed += 1
                    continue
                }
                guard let sender = machine.registry[event.source] else {
                    refused.append("seq \(audited.seq): unknown sender \(event.source)")
                    continue
                }
                switch machine.apply(event, by: sender, at: audited.recordedAt, to: states[event.subject], related: related(of: event, sender: sender),
                                     backfilled: event.extensions[CaseMachine.importMark] != nil) {
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
                    refused.append("seq \(audited.seq) (case \(event.subject)): \(refusal.code)")
                }
                replayed += 1
            }
        }

        /// The other case the event's rules look at, as the hub found it
        /// (BatchApplier.relatedCase): by id, or for a penalty decision the
        /// bureau's most recently updated case under that number of its own.
        func related(of event: CloudEvent, sender: Agency) -> CaseState? {
            if let id = CaseMachine.relatedCaseID(of: event, on: states[event.subject]) { return states[id] }
            guard event.type == .casePenaltyDecided, let number = event.data["relatedNumber"]?.stringValue else { return nil }
            return states.values
                .filter { $0.caseID != event.subject && $0.partyAgencies.contains(sender.id) && $0.numbers[sender.id] == number }
                .max { $0.updatedAt < $1.updatedAt }
        }
    }
}
