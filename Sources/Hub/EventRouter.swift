import CaseModel

/// Decides which agencies receive an accepted event.
///
/// Walking-skeleton rule until the procedures' state machines name their own
/// addressees: the agencies the payload names (`receiver` or `receivers`)
/// plus the parties already on the case, never the sender itself.
public struct EventRouter: Sendable {
    public let registry: AgencyRegistry

    public init(registry: AgencyRegistry) {
        self.registry = registry
    }

    public func recipients(of event: CloudEvent, parties: [String]) throws(Refusal) -> [AgencyID] {
        var named: [String] = []
        if let receiver = event.data["receiver"]?.stringValue { named.append(receiver) }
        for receiver in event.data["receivers"]?.arrayValue ?? [] {
            if let id = receiver.stringValue { named.append(id) }
        }
        var recipients: [AgencyID] = []
        for text in named {
            guard let id = AgencyID(rawValue: text), registry[id] != nil else {
                throw Refusal(code: "routing.unknown-recipient",
                              reason: "receiver '\(text.prefix(80))' is not a registered agency",
                              violations: [Violation(path: "/data/receiver", rule: "agency", message: "unknown agency '\(text.prefix(80))'")])
            }
            recipients.append(id)
        }
        recipients += parties.compactMap { AgencyID(rawValue: $0) }
        var seen = Set<AgencyID>()
        return recipients.filter { $0.rawValue != event.source && seen.insert($0).inserted }
    }
}
