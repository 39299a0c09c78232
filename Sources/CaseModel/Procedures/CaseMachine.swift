public import Foundation

/// Applies events to cases under the procedures' rules: who may send what,
/// in which order, and which statutory clocks start or stop.
///
/// Pure: no I/O. `apply` is a function of the case state, the event, its
/// sender and the instant the hub received it.
public struct CaseMachine: Sendable {
    public let registry: AgencyRegistry
    public let rules: DeadlineRules
    public let calculator: DeadlineCalculator
    /// How far in the future an event's declared time may be (clock skew).
    public var allowedClockSkew: TimeInterval = 300
    public var maxConsultationRounds = DeadlineRules.defaultMaxConsultationRounds

    public init(registry: AgencyRegistry, rules: DeadlineRules = .standard, calendar: HolidayCalendar = .shipped) {
        self.registry = registry
        self.rules = rules
        self.calculator = DeadlineCalculator(calendar: calendar)
    }

    /// The CloudEvents attribute that marks an event of an administrator's
    /// back-fill of historical cases: its value is the import's id. Only such
    /// events are placed at their declared time (``apply(_:by:at:to:related:backfilled:)``).
    public static let importMark = "casehubimport"

    /// The event that opens a case of each procedure without a `case.opened` first.
    static let openingTypes: [EventType: Procedure] = [
        .referralSubmitted: .referral,
        .crimeCaseReported: .crimeTransfer,
        .pilClueRegistered: .administrativePIL,
        .civilPILClueRegistered: .civilPIL,
        .accountabilityClueReferred: .accountability,
        .compensationAssessmentCompleted: .damageCompensation,
    ]

    /// Applies `event` (sent by `sender`, received at `receivedAt`) to `state`
    /// (nil when the case does not exist yet). `related` is the other case
    /// the event's rules look at, where there is one: ``relatedCaseID(of:on:)``.
    ///
    /// The hub's clock is the legal clock: clocks start, deadlines are met
    /// and windows are judged at `receivedAt`, and payload dates are bounded
    /// by it. Only `backfilled` events (an administrator's import of
    /// historical cases) are placed at their declared `time`.
    public func apply(_ event: CloudEvent, by sender: Agency, at receivedAt: Date, to state: CaseState?,
                      related: CaseState? = nil, backfilled: Bool = false) -> Result<Transition, Refusal> {
        do {
            return .success(try transition(event, by: sender, at: receivedAt, to: state, related: related, backfilled: backfilled))
        } catch {
            return .failure(error)
        }
    }

    func transition(_ event: CloudEvent, by sender: Agency, at receivedAt: Date, to existing: CaseState?,
                    related: CaseState? = nil, backfilled: Bool = false) throws(Refusal) -> Transition {
        if event.type.isHubNotice {
            throw Refusal(code: .typeReserved, reason: "\(event.type) is emitted by the hub only", reasonZH: "该类型事件只能由枢纽发出")
        }
        // Declared times drive the clocks only in an administrator's back-fill, and only its events carry its mark.
        if (event.extensions[Self.importMark] != nil) != backfilled {
            throw Refusal(code: .eventImportMark,
                          reason: "only an administrator's import of historical cases carries the \(Self.importMark) attribute",
                          reasonZH: "只有管理员导入的历史案件事件可以带有导入标记",
                          violations: [Violation(path: "/\(Self.importMark)", rule: "reserved", message: "set by the hub's import only")])
        }
        if event.time.timeIntervalSince(receivedAt) > allowedClockSkew {
            throw Refusal(code: .timeInFuture,
                          reason: "the event's time \(RFC3339.format(event.time)) is in the future",
                          reasonZH: "事件时间晚于当前时间",
                          violations: [Violation(path: "/time", rule: "not-future", message: "must not be later than now")])
        }
        let opening = event.type == .caseOpened || Self.openingTypes[event.type] != nil
        // Checked before anything that depends on the case: the refusal says nothing of whether it exists.
        if opening || (event.type == .casePenaltyDecided && existing?.role(of: sender.id).isEmpty != false) {
            try CaseIDNamespace.requireOwned(event.subject, by: sender)
        }
        var step: Step
        if let existing {
            // A non-party learns nothing of a case, not even that it exists: its
            // event is answered exactly as for a case that does not exist,
            // unless its kind of agency may join the case by this event.
            if !opening, existing.role(of: sender.id).isEmpty, !Self.joinedByKind[event.type, default: []].contains(sender.kind) {
                throw Self.unknownCase(event)
            }
            // A case opened by casehub.case.opened goes on with its procedure's
            // first event: both ways of opening a case lead to the same steps.
            let continuesOpened = Self.openingTypes[event.type] == existing.procedure
            if opening && !continuesOpened {
                throw Refusal(code: .caseExists, reason: "case \(existing.caseID) already exists", reasonZH: "案件已存在")
            }
            step = Step(state: existing, event: event, sender: sender, receivedAt: receivedAt, backfilled: backfilled, machine: self, related: related)
        } else {
            // A penalty decision with no case of its own opens one (PenaltyDecisions).
            guard opening || event.type == .casePenaltyDecided else { throw Self.unknownCase(event) }
            step = Step(state: try open(event, by: sender, at: backfilled ? event.time : receivedAt), event: event, sender: sender, receivedAt: receivedAt,
                        backfilled: backfilled, machine: self, related: related)
            if event.type == .caseOpened {
                return finish(step)
            }
        }
        if event.type == .caseLinked {
            try link(&step)
            return finish(step)
        }
        // Recorded on closed cases too: a penalty may follow the case's end.
        if event.type == .casePenaltyDecided {
            try PenaltyDecisions.apply(&step)
            return finish(step)
        }
        // Feedback to the referrer is due also after the case is closed.
        if step.state.isClosed && event.type != .accountabilityFeedbackSent {
            throw Refusal(code: .caseClosed, reason: "case \(step.state.caseID) is closed ('\(step.state.status)')", reasonZH: "案件已办结")
        }
        let procedure = step.state.procedure
        switch (event.type.procedure, procedure) {
        case ("referral", .referral): try ReferralProcedure.apply(&step)
        case ("crime", .crimeTransfer): try CrimeTransferProcedure.apply(&step)
        case ("pil", .administrativePIL): try AdministrativePILProcedure.apply(&step)
        case ("civil-pil", .civilPIL): try CivilPILProcedure.apply(&step)
        case ("accountability", .accountability): try AccountabilityProcedure.apply(&step)
        case ("compensation", .damageCompensation): try DamageCompensationProcedure.apply(&step)
        case ("litigation", _) where procedure.hasLitigation: try LitigationSteps.apply(&step)
        default:
            throw Refusal(code: .procedureMismatch,
                          reason: "\(event.type) does not belong to a \(procedure.rawValue) case",
                          reasonZH: "该事件不属于本案的程序")
        }
        return finish(step)
    }

    /// The hub's record that an agency received an event of this case: the
    /// delivery into its inbox (a `casehub.hub.served.v1` the hub writes,
    /// naming `servedEventId` and `servedAgency`, at `servedAt`). Starts every
    /// clock that awaited that service; nil when none does (the agency
    /// acknowledged receipt first, or the clock no longer applies).
    public func recordService(_ service: CloudEvent, on state: CaseState) -> Transition? {
        guard let servedEvent = service.data["servedEventId"]?.stringValue.flatMap(EventID.init),
              let agency = service.data["servedAgency"]?.stringValue.flatMap(AgencyID.init(rawValue:)),
              let servedAt = service.data["servedAt"]?.stringValue.flatMap(RFC3339.parse) else { return nil }
        var state = state
        var effects: [CaseEffect] = []
        for id in state.deadlines.keys.sorted() {
            guard var deadline = state.deadlines[id], deadline.state == .awaitingService,
                  deadline.triggerEventID == servedEvent, deadline.servedAgency == agency else { continue }
            deadline.startServed(at: servedAt, calculator: calculator)
            state.deadlines[id] = deadline
            effects.append(.deadlineStarted(deadline))
        }
        guard !effects.isEmpty else { return nil }
        if let next = Self.statusOnService[state.status] { state.status = next }
        state.version += 1
        state.updatedAt = servedAt
        return Transition(state: state, effects: effects)
    }

    /// Where a case goes once the document it waits on reaches its addressee.
    static let statusOnService = ["recommendation-issued": "awaiting-reply"]

    /// The other case whose state the rules for `event` on `state` look at,
    /// by id: the case a penalty decision names (`relatedCaseId`:
    /// ``PenaltyDecisions``), or, for a civil PIL's hearing or judgment, the
    /// compensation case it waits for (``LitigationSteps``). The store looks
    /// it up and passes it to ``apply(_:by:at:to:related:)``; a penalty
    /// decision may instead name it by number, which only the store can resolve.
    public static func relatedCaseID(of event: CloudEvent, on state: CaseState?) -> String? {
        let id: String?
        switch event.type {
        case .casePenaltyDecided: id = event.data["relatedCaseId"]?.stringValue
        case .litigationHearingScheduled, .litigationJudgmentIssued: id = state.flatMap(LitigationSteps.awaitedParallelCase)
        default: id = nil
        }
        return id == event.subject ? nil : id
    }

    /// Events an agency that is not yet party to a case may send to it, by
    /// the sender's kind: it joins the case by them (a procuratorate's opinion
    /// that a case not transferred must be: 检察意见).
    static let joinedByKind: [EventType: Set<AgencyKind>] = [
        .crimeProcuratorialOpinionIssued: [.procuratorate],
    ]

    /// The refusal for a case that does not exist, and for one the sender is
    /// not party to: the same, word for word.
    static func unknownCase(_ event: CloudEvent) -> Refusal {
        Refusal(code: .caseUnknown,
                reason: "case \(event.subject.prefix(128)) does not exist; a case starts with casehub.case.opened.v1 or its procedure's first event",
                reasonZH: "案件不存在")
    }

    /// A new case, held by its sender, opened at the instant the law counts (``Step/at``).
    private func open(_ event: CloudEvent, by sender: Agency, at instant: Date) throws(Refusal) -> CaseState {
        let procedure: Procedure
        if event.type == .caseOpened {
            guard let name = event.data["procedure"]?.stringValue, let named = Procedure(rawValue: name) else {
                throw Refusal(code: .procedureUnknown, reason: "unknown procedure", violations: [Violation(path: "/data/procedure", rule: "enum", message: "unknown procedure")])
            }
            procedure = named
        } else if event.type == .casePenaltyDecided {
            procedure = .referral
        } else {
            procedure = Self.openingTypes[event.type]!
        }
        let allowed: Set<AgencyKind> = switch procedure {
        case .referral, .accountability: Set(AgencyKind.allCases)
        case .crimeTransfer, .damageCompensation: [.environmentBureau]
        case .administrativePIL, .civilPIL: [.procuratorate]
        }
        guard allowed.contains(sender.kind) else {
            throw Refusal(code: .senderNotAllowed,
                          reason: "a \(sender.kind.rawValue) cannot open a \(procedure.rawValue) case",
                          reasonZH: "\(sender.name)不能立此类案件")
        }
        var state = CaseState(
            caseID: event.subject, procedure: procedure, status: "opened", version: 0,
            title: event.data["title"]?.stringValue, parties: [.holder: sender.id], numbers: [:], deadlines: [:],
            facts: CaseFacts(), links: [], openedAt: instant, updatedAt: instant)
        if let number = event.data["number"]?.stringValue { state.numbers[sender.id] = number }
        if case .bool(let incidental)? = event.data["criminalIncidental"] { state.facts.criminalIncidental = incidental }
        return state
    }

    private func link(_ step: inout Step) throws(Refusal) {
        guard !step.state.role(of: step.sender.id).isEmpty else {
            throw Refusal(code: .senderNotAllowed, reason: "only a party to the case may link it", reasonZH: "只有本案当事机关可以关联案件")
        }
        let other = step.string("linkedCaseId") ?? ""
        let relation = step.string("relation") ?? ""
        guard other != step.state.caseID else {
            throw Refusal(code: .linkSelf, reason: "a case cannot be linked to itself", reasonZH: "案件不能关联自身")
        }
        if !step.state.links.contains(CaseLink(caseID: other, relation: relation)) {
            step.state.links.append(CaseLink(caseID: other, relation: relation))
        }
        let reverse = ["spawned-from": "spawned", "spawned": "spawned-from"][relation] ?? relation
        step.effects.append(.link(caseID: other, relation: reverse))
    }

    /// Bumps the version and addresses the event to every other party.
    private func finish(_ step: Step) -> Transition {
        var state = step.state
        state.version += 1
        state.updatedAt = step.receivedAt
        var effects = step.effects
        for agency in state.partyAgencies where agency != step.sender.id {
            effects.append(.notify(agency))
        }
        return Transition(state: state, effects: effects)
    }
}
