public import Foundation

/// What the law requires, by when, of whom: a deadline rule. Values the
/// domain notes mark as not confirmed from the legal text are `configurable`
/// and come from ``DeadlineRules`` configuration with these defaults.
public struct DeadlineRule: Sendable, Hashable, Codable {
    /// Stable id, e.g. `pil.reply`.
    public var id: String
    public var nameZH: String
    public var nameEN: String
    public var legalBasis: String
    public var period: StatutoryPeriod
    /// How long before the due instant the hub warns.
    public var warningLead: StatutoryPeriod
    /// Whether the value was read in the legal text (false: widely stated, kept configurable).
    public var confirmed: Bool

    /// Rules that are periods to wait out, not acts due by a day (the civil
    /// PIL announcement): closed at or after their end is how they should
    /// close, never `met-late`.
    public static let waitingPeriods: Set<String> = ["civil-pil.announcement", "litigation.appeal-judgment", "litigation.appeal-ruling"]
    /// Parties told of the warning and the overdue notice besides the obliged
    /// agency and the case's holder: the agency that supervises the act (the
    /// procuratorate copied on a transfer watches the police's decisions).
    /// Nil: none.
    public var alsoNotified: [PartyRole]?

    public init(id: String, nameZH: String, nameEN: String, legalBasis: String, period: StatutoryPeriod,
                warningLead: StatutoryPeriod, confirmed: Bool, alsoNotified: [PartyRole]? = nil) {
        self.id = id
        self.nameZH = nameZH
        self.nameEN = nameEN
        self.legalBasis = legalBasis
        self.period = period
        self.warningLead = warningLead
        self.confirmed = confirmed
        self.alsoNotified = alsoNotified
    }

    /// Who hears of the deadline's warning and overdue notice on `state`:
    /// the obliged agency, the holder, then the parties in ``alsoNotified``
    /// roles; each once, and besides the obliged agency only a party whose
    /// view of the case shows the deadline (need to know: the agency that
    /// referred an accountability clue does not learn of a letter inquiry).
    public func noticeRecipients(obliged: AgencyID, on state: CaseState) -> [AgencyID] {
        Self.noticeRecipients(rule: id, obliged: obliged, holder: state.parties[.holder],
                              alsoNotified: (alsoNotified ?? []).map { state.parties[$0] }, procedure: state.procedure,
                              roles: { state.role(of: $0) })
    }

    /// The same from a case's parts, as the deadline scheduler reads them from its rows.
    public static func noticeRecipients(rule: String, obliged: AgencyID, holder: AgencyID?, alsoNotified: [AgencyID?], procedure: Procedure,
                                        roles: (AgencyID) -> [PartyRole]) -> [AgencyID] {
        var recipients = [obliged]
        for agency in [holder] + alsoNotified {
            guard let agency, !recipients.contains(agency),
                  Disclosure.standard.hearsOfDeadline(rule, in: procedure, roles: roles(agency)) else { continue }
            recipients.append(agency)
        }
        return recipients
    }
}

/// A running or finished deadline on a case.
public struct StatutoryDeadline: Sendable, Hashable, Codable {
    public enum State: String, Sendable, Hashable, Codable {
        /// Not yet met; whether it is in its warning window or overdue depends
        /// on the instant asked about (``stage(at:)``).
        case running
        /// The required act happened (possibly late: see ``metLate``).
        case met
        /// The clock no longer applies (the case took another path).
        case stopped
        /// The clock is paused (the court suspended the proceedings: 中止审理);
        /// it runs again, its due instant moved by the pause, when they resume.
        case suspended
        /// The clock runs from the obliged side's receipt of a document the
        /// hub delivers (送达/收到之日), which has not happened yet: it starts
        /// at the hub's record of the delivery to that agency's inbox, or at
        /// the agency's acknowledgement, whichever the hub records first.
        case awaitingService = "awaiting-service"
    }

    public enum Stage: String, Sendable, Hashable, Codable {
        case running, warning, overdue, met, stopped, suspended
        case awaitingService = "awaiting-service"
        /// Met, but at or after the due instant.
        case metLate = "met-late"
    }

    public var rule: DeadlineRule
    /// The agency that must act.
    public var obligedAgency: AgencyID
    /// The event that started the clock, and the legal trigger's declared time.
    public var triggerEventID: EventID
    public var triggerEventType: EventType
    public var startedAt: Date
    public var dueAt: Date
    public var warnAt: Date
    public var state: State
    /// The event that met or stopped it.
    public var closedByEventID: EventID?
    public var closedAt: Date?
    /// The agency whose receipt of the trigger event starts the clock, for a
    /// clock that runs from service (``State/awaitingService``); nil for one
    /// that runs from the trigger event itself. While awaiting service,
    /// `startedAt` is the earliest instant it may start at and `dueAt` the
    /// due instant were it served then.
    public var servedAgency: AgencyID?

    public init(rule: DeadlineRule, obligedAgency: AgencyID, triggerEventID: EventID, triggerEventType: EventType,
                startedAt: Date, dueAt: Date, warnAt: Date, state: State, closedByEventID: EventID?, closedAt: Date?,
                servedAgency: AgencyID? = nil) {
        self.rule = rule
        self.obligedAgency = obligedAgency
        self.triggerEventID = triggerEventID
        self.triggerEventType = triggerEventType
        self.startedAt = startedAt
        self.dueAt = dueAt
        self.warnAt = warnAt
        self.state = state
        self.closedByEventID = closedByEventID
        self.closedAt = closedAt
        self.servedAgency = servedAgency
    }

    /// Unique on a case: one deadline per rule at a time.
    public var id: String { rule.id }

    public var metLate: Bool {
        state == .met && closedAt.map { Self.isLate(rule: rule.id, closedAt: $0, dueAt: dueAt) } == true
    }

    /// The last day to act, as the law writes it (a China date, inclusive):
    /// a period of days ends at the end of its last day, so the due instant
    /// is the next day's midnight and the last day is the one before it.
    public var dueDate: LocalDate { Self.lastDay(dueAt: dueAt) }

    public static func lastDay(dueAt: Date) -> LocalDate {
        LocalDate(dueAt.addingTimeInterval(-0.001))
    }

    /// Whether an act at `closedAt` missed a deadline due at `dueAt`. A
    /// waiting period is never late: it is over when it has run.
    public static func isLate(rule: String, closedAt: Date, dueAt: Date) -> Bool {
        !DeadlineRule.waitingPeriods.contains(rule) && closedAt >= dueAt
    }

    /// Starts a clock that awaited service at `instant`, or at the earliest
    /// instant it may start at if that is later.
    mutating func startServed(at instant: Date, calculator: DeadlineCalculator) {
        let start = max(startedAt, instant)
        state = .running
        startedAt = start
        dueAt = calculator.due(after: start, period: rule.period)
        warnAt = calculator.warning(before: dueAt, lead: rule.warningLead, trigger: start)
    }

    /// Where the deadline stands at an instant.
    public func stage(at instant: Date) -> Stage {
        switch state {
        case .met: return metLate ? .metLate : .met
        case .stopped: return .stopped
        case .suspended: return .suspended
        case .awaitingService: return .awaitingService
        case .running:
            if instant >= dueAt { return .overdue }
            if instant >= warnAt { return .warning }
            return .running
        }
    }
}
