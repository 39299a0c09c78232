public import Foundation

/// The procedures a case can follow (docs/case-model.md lists them).
public enum Procedure: String, Sendable, Hashable, Codable, CaseIterable {
    case referral
    case crimeTransfer = "crime-transfer"
    case administrativePIL = "administrative-pil"
    case civilPIL = "civil-pil"
    case accountability
    case damageCompensation = "damage-compensation"

    /// The event-type segment whose events drive this procedure.
    var eventSegment: String {
        switch self {
        case .referral: "referral"
        case .crimeTransfer: "crime"
        case .administrativePIL: "pil"
        case .civilPIL: "civil-pil"
        case .accountability: "accountability"
        case .damageCompensation: "compensation"
        }
    }

    /// Procedures that can end in a suit accept `casehub.litigation.*` events.
    var hasLitigation: Bool { [.administrativePIL, .civilPIL, .damageCompensation].contains(self) }
}

/// The part an agency plays in a case; events are authorised by role.
public enum PartyRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// The agency that holds (runs) the case.
    case holder
    /// The agency a referral, recommendation or clue is addressed to.
    case addressee
    case police
    case procuratorate
    case court
    /// The court hearing an appeal.
    case appealCourt = "appeal-court"
    case commission
}

/// A link between cases (a bureau inspection spawning a crime transfer, a
/// PIL and an accountability referral; a PIL suspended for a compensation case).
public struct CaseLink: Sendable, Hashable, Codable {
    public var caseID: String
    /// `spawned-from`, `spawned`, `same-act` or `parallel-suspended`.
    public var relation: String

    public init(caseID: String, relation: String) {
        self.caseID = caseID
        self.relation = relation
    }
}

/// Facts that later steps check (guards) and that the state records.
public struct CaseFacts: Sendable, Hashable, Codable {
    public var urgent: Bool?
    public var recommendationEventID: EventID?
    /// When the recommendation reached the hub: the organ cannot have received it earlier.
    public var recommendationIssuedAt: Date?
    public var replyEventID: EventID?
    public var followUpEventID: EventID?
    public var agencyStillFailing: Bool?
    public var harmContinuing: Bool?
    public var announcementEventID: EventID?
    public var announcementPublishedOn: LocalDate?
    public var criminalIncidental: Bool?
    public var consultationRounds: Int = 0
    public var consultationFailedEventID: EventID?
    public var disposal: String?
    public var judgmentForm: String?
    public var judgmentInstance: String?
    public var judgmentServedOn: LocalDate?
    public var notFiledAt: Date?
    /// The status to go back to when a pause ends (a referral's supplement, a court's suspension).
    public var resumeStatus: String?
    /// When the court suspended the proceedings (中止审理): the trial period does not run from then until they resume.
    public var suspendedAt: Date?
    /// The court resumed a civil PIL held for a parallel compensation case before that case ended.
    public var parallelWaitLifted: Bool?
    public var feedbackSent: Bool = false
    /// The administrative penalty decisions recorded on the case, by number (normalised).
    public var penaltyDecisionNumbers: [String]?
}

/// The canonical state of one case: what the hub stores and every procedure
/// step is checked against. A value: applying an event returns a new one.
public struct CaseState: Sendable, Hashable, Codable {
    public var caseID: String
    public var procedure: Procedure
    /// The procedure's state, e.g. `awaiting-reply`.
    public var status: String
    /// Accepted events applied so far.
    public var version: Int
    public var title: String?
    public var parties: [PartyRole: AgencyID]
    /// Each agency's own number for the case.
    public var numbers: [AgencyID: String]
    public var deadlines: [String: StatutoryDeadline]
    public var facts: CaseFacts
    public var links: [CaseLink]
    public var openedAt: Date
    public var updatedAt: Date

    /// Every agency party to the case, in a stable order.
    public var partyAgencies: [AgencyID] {
        var seen = Set<AgencyID>()
        return PartyRole.allCases.compactMap { parties[$0] }.filter { seen.insert($0).inserted }
    }

    public func role(of agency: AgencyID) -> [PartyRole] {
        PartyRole.allCases.filter { parties[$0] == agency }
    }

    public var isClosed: Bool { Self.terminalStatuses.contains(status) }

    static let terminalStatuses: Set<String> = [
        "concluded", "terminated", "closed", "shelved", "withdrawn", "enforcement", "confirmed",
        "exhibits-handed-over", "decided", "not-transferred-final",
    ]
}

/// What applying an event asks of the world beyond the case row.
public enum CaseEffect: Sendable, Hashable {
    case deadlineStarted(StatutoryDeadline)
    case deadlineMet(id: String, late: Bool)
    case deadlineStopped(id: String)
    /// The clock paused; resumed later by ``deadlineResumed(_:)``.
    case deadlineSuspended(id: String)
    /// A paused clock runs again, due later by the length of the pause.
    case deadlineResumed(StatutoryDeadline)
    /// Deliver the event to this agency.
    case notify(AgencyID)
    /// Record the reverse link on the other case.
    case link(caseID: String, relation: String)
}

/// The result of a permitted event.
public struct Transition: Sendable {
    public var state: CaseState
    public var effects: [CaseEffect]

    /// For each agency whose receipt of the event starts clocks (送达), the
    /// deadline rules awaiting it (``StatutoryDeadline/State/awaitingService``).
    public var awaitedServices: [AgencyID: [String]] {
        var rules: [AgencyID: [String]] = [:]
        for case .deadlineStarted(let deadline) in effects where deadline.state == .awaitingService {
            if let served = deadline.servedAgency { rules[served, default: []].append(deadline.rule.id) }
        }
        return rules
    }

    /// The agencies to deliver the event to.
    public var recipients: [AgencyID] {
        effects.compactMap { if case .notify(let agency) = $0 { agency } else { nil } }
    }
}

// Dictionaries keyed by these encode as JSON objects, not as key/value arrays.
extension PartyRole: CodingKeyRepresentable {}

extension AgencyID: CodingKeyRepresentable {
    public var codingKey: any CodingKey { AgencyCodingKey(stringValue: rawValue) }

    public init?<T: CodingKey>(codingKey: T) {
        self.init(rawValue: codingKey.stringValue)
    }

    private struct AgencyCodingKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
