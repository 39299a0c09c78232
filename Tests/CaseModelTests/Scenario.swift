import CaseModel
import Foundation
import Testing

/// Drives one case through the state machine, event by event.
struct Scenario {
    let machine = CaseMachine(registry: .zhuzhou)
    /// The case's id: namespaced by the agency whose event opens it (the
    /// first one sent), unless given whole.
    var caseID: String
    let localID: String
    let givenWhole: Bool
    var state: CaseState?
    var accepted: [(CloudEvent, AgencyID)] = []
    var lastEventID: EventID?

    init(_ caseID: String = "case-\(UUID().uuidString.prefix(8))") {
        self.caseID = caseID
        self.localID = caseID
        self.givenWhole = CaseIDNamespace.owner(of: caseID) != nil
    }

    static func instant(_ text: String) -> Date {
        guard let date = RFC3339.parse(text) else { preconditionFailure("bad test time \(text)") }
        return date
    }

    /// Applies an event the hub receives at `time` (China time if no offset
    /// given), declared a minute earlier: the hub's instant is the one that counts.
    @discardableResult
    mutating func send(_ type: String, by sender: AgencyID, at time: String, _ data: JSONValue = [:]) -> Result<Transition, Refusal> {
        let when = Self.instant(time.contains("T") ? time : time + "T10:00:00+08:00")
        if state == nil && !givenWhole { caseID = CaseIDNamespace.caseID(localID, openedBy: sender) }
        let event = CloudEvent(source: sender, type: EventType(rawValue: "casehub.\(type).v1"),
                               time: when.addingTimeInterval(-60), subject: caseID, data: data)
        let result = machine.apply(event, by: machine.registry[sender]!, at: when, to: state)
        if case .success(let transition) = result {
            state = transition.state
            accepted.append((event, sender))
            lastEventID = event.id
        }
        return result
    }

    /// Sends and expects acceptance; returns the transition.
    @discardableResult
    mutating func accept(_ type: String, by sender: AgencyID, at time: String, _ data: JSONValue = [:],
                         sourceLocation: SourceLocation = #_sourceLocation) -> Transition? {
        switch send(type, by: sender, at: time, data) {
        case .success(let transition):
            return transition
        case .failure(let refusal):
            Issue.record("\(type) by \(sender) refused: \(refusal)", sourceLocation: sourceLocation)
            return nil
        }
    }

    /// Sends and expects a refusal with this code; the state must not change.
    mutating func refuse(_ type: String, by sender: AgencyID, at time: String, _ data: JSONValue = [:], code: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        let before = state
        switch send(type, by: sender, at: time, data) {
        case .success:
            Issue.record("\(type) by \(sender) was accepted; expected refusal \(code)", sourceLocation: sourceLocation)
        case .failure(let refusal):
            #expect(refusal.code.rawValue == code, "\(refusal)", sourceLocation: sourceLocation)
            #expect(!refusal.reason.isEmpty && !refusal.reasonZH.isEmpty, sourceLocation: sourceLocation)
        }
        #expect(state == before, sourceLocation: sourceLocation)
    }

    var status: String? { state?.status }

    func deadline(_ id: String) -> StatutoryDeadline? { state?.deadlines[id] }
}

/// Formats an instant as its China date for readable expectations.
func chinaDate(_ instant: Date) -> String { LocalDate(instant).description }

/// The China date of the last day of a period ending at `dueAt` (the instant after it).
func lastDay(_ dueAt: Date) -> String { LocalDate(dueAt.addingTimeInterval(-1)).description }
