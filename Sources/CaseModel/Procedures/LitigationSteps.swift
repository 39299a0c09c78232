import Foundation

/// The court steps of a suit (administrative PIL, civil PIL, compensation):
/// acceptance → hearing → judgment or ruling → appeal (15 days from service
/// of a judgment, 10 of a ruling) → final → enforcement. The court may
/// suspend the proceedings (中止审理) at first or second instance and resume
/// them; the trial period does not run meanwhile.
enum LitigationSteps {
    static func apply(_ step: inout Step) throws(Refusal) {
        switch step.event.type {
        case .litigationAccepted:
            try step.require(status: ["suit-filed", "supporting"], to: "accept the suit")
            try step.require(role: .court, to: "accept the suit")
            step.recordNumber("caseNumber")
            step.start("litigation.first-instance", obliged: step.sender.id, trigger: step.at)
            step.move(to: "in-court")

        case .litigationHearingScheduled:
            try step.require(status: ["in-court", "appeal"], to: "schedule a hearing")
            try step.require(role: step.state.status == "appeal" ? .appealCourt : .court, to: "schedule a hearing")
            try requireNoPendingParallelCase(step)

        case .litigationJudgmentIssued:
            try step.require(status: ["in-court", "appeal"], to: "issue a judgment or ruling")
            let expected = step.state.status == "appeal" ? "second" : "first"
            try step.require(role: expected == "second" ? .appealCourt : .court, to: "issue the judgment")
            try requireNoPendingParallelCase(step)
            guard step.string("instance") == expected else {
                throw Refusal(code: .judgmentWrongInstance, reason: "this is the \(expected) instance",
                              reasonZH: "审级不符", violations: [Violation(path: "/data/instance", rule: "const", message: "must be \(expected)")])
            }
            step.meet(expected == "first" ? "litigation.first-instance" : "litigation.second-instance")
            step.state.facts.judgmentForm = step.string("form")
            step.state.facts.judgmentInstance = expected
            step.state.facts.judgmentServedOn = try step.recordedDate("servedOn", notBefore: step.state.openedAt)
            // The appeal window is tracked like a deadline: in the views, warned
            // of, closed by the appeal or finality. It runs from the holder's
            // receipt of the judgment: the hub's delivery into its inbox, or
            // the declared service if that is later. A backdated service
            // cannot shorten a party's window.
            if expected == "first", let served = step.state.facts.judgmentServedOn, let holder = step.state.parties[.holder] {
                step.awaitService(appealRule(step.state.facts.judgmentForm), obliged: holder, servedTo: holder, notBefore: served.startInstant)
            }
            step.move(to: "judged")

        case .litigationSuspended:
            try step.require(status: ["in-court", "appeal"], to: "suspend the proceedings")
            try step.require(role: step.state.status == "appeal" ? .appealCourt : .court, to: "suspend the proceedings")
            step.state.facts.resumeStatus = step.state.status
            step.state.facts.suspendedAt = step.at
            step.suspend(trialPeriod(step.state.status))
            step.move(to: "suspended")

        case .litigationResumed:
            try step.require(status: ["suspended"], to: "resume the proceedings")
            let resumeStatus = step.state.facts.resumeStatus ?? "in-court"
            try step.require(role: resumeStatus == "appeal" ? .appealCourt : .court, to: "resume the proceedings")
            // The days of the suspension do not count towards the trial period.
            if let suspendedAt = step.state.facts.suspendedAt {
                let days = LocalDate(suspendedAt).days(until: LocalDate(step.at))
                step.resume(trialPeriod(resumeStatus), afterDays: max(0, days))
            }
            // The court's resumption ends the wait for a parallel compensation case too.
            if awaitedParallelCase(step.state) != nil { step.state.facts.parallelWaitLifted = true }
            step.state.facts.resumeStatus = nil
            step.state.facts.suspendedAt = nil
            step.move(to: resumeStatus)

        case .litigationWithdrawn:
            try step.require(status: ["suit-filed", "in-court", "appeal", "suspended"], to: "withdraw the suit")
            try step.require(role: .holder, to: "withdraw the suit")
            step.stopRunning()
            step.move(to: "withdrawn")

        case .litigationAppealFiled:
            try step.require(status: ["judged"], to: "appeal")
            guard step.state.facts.judgmentInstance == "first" else {
                throw Refusal(code: .appealFinalInstance, reason: "a second-instance decision cannot be appealed", reasonZH: "二审裁判不得上诉")
            }
            guard step.state.role(of: step.sender.id).contains(where: { $0 == .holder || $0 == .addressee }) else {
                throw Refusal(code: .senderNotAllowed, reason: "only a party to the suit may appeal", reasonZH: "只有当事人可以上诉")
            }
            if let deadline = appealDeadline(step), step.at >= deadline {
                throw Refusal(code: .deadlinePassed, reason: "the appeal period has run", reasonZH: "上诉期限已届满")
            }
            let appealCourt = try step.agency(at: "appealCourt", kinds: [.court])
            let firstCourt = step.state.parties[.court].flatMap { step.machine.registry[$0] }
            if let firstCourt, firstCourt.level == .county, firstCourt.parent != appealCourt.id {
                throw Refusal(code: .appealWrongCourt, reason: "an appeal goes to the court above \(firstCourt.id)",
                              reasonZH: "上诉应当向上一级法院提出",
                              violations: [Violation(path: "/data/appealCourt", rule: "jurisdiction", message: "must be \(firstCourt.parent?.rawValue ?? "the court above")")])
            }
            step.setRole(.appealCourt, appealCourt.id)
            step.meet(appealRules[0], appealRules[1])
            step.start("litigation.second-instance", obliged: appealCourt.id, trigger: step.at)
            step.move(to: "appeal")

        case .litigationFinal:
            try step.require(status: ["judged"], to: "declare the judgment final")
            try step.require(role: .court, .appealCourt, to: "declare the judgment final")
            if step.state.facts.judgmentInstance == "first", let deadline = appealDeadline(step), step.at < deadline {
                throw Refusal(code: .appealPeriodRunning, reason: "a first-instance decision becomes final only after the appeal period",
                              reasonZH: "上诉期限未届满，裁判尚未生效")
            }
            step.meet(appealRules[0], appealRules[1])
            step.move(to: "final")

        case .litigationEnforcementTransferred:
            try step.require(status: ["final"], to: "transfer to enforcement")
            try step.require(role: .court, to: "transfer to enforcement")
            step.recordNumber("enforcementNumber")
            step.move(to: "enforcement")

        default:
            throw Refusal(code: .typeUnknown, reason: "unknown litigation event \(step.event.type)")
        }
    }

    static let appealRules = ["litigation.appeal-judgment", "litigation.appeal-ruling"]

    /// The trial period running at a status: first instance in court, second on appeal.
    static func trialPeriod(_ status: String) -> String {
        status == "appeal" ? "litigation.second-instance" : "litigation.first-instance"
    }

    /// The compensation case a civil PIL was linked to as `parallel-suspended`,
    /// unless the court has resumed it regardless.
    static func awaitedParallelCase(_ state: CaseState) -> String? {
        guard state.procedure == .civilPIL, state.facts.parallelWaitLifted != true else { return nil }
        return state.links.first { $0.relation == "parallel-suspended" }?.caseID
    }

    /// A civil PIL for the same harm as a damage-compensation case waits for
    /// that case: the court hears and judges it only once the compensation
    /// case has ended (final, closed) or the court resumes it (《最高人民法院关于
    /// 审理生态环境损害赔偿案件的若干规定（试行）》第十七条). The compensation
    /// case's status is not named: the court need not be party to it.
    static func requireNoPendingParallelCase(_ step: Step) throws(Refusal) {
        guard let awaited = awaitedParallelCase(step.state), let other = step.related, other.caseID == awaited,
              other.procedure == .damageCompensation, !other.isClosed, other.status != "final" else { return }
        throw Refusal(
            code: .litigationParallelPending,
            reason: "damage-compensation case \(awaited) for the same harm has not ended: this civil PIL waits for it, or for the court to resume it with casehub.litigation.resumed.v1 (SPC provisions on ecological damage compensation cases, art. 17)",
            reasonZH: "同一损害生态环境行为的生态环境损害赔偿案件\(awaited)尚未审结，民事公益诉讼应当中止审理，待其审结或法院恢复审理后继续（《最高人民法院关于审理生态环境损害赔偿案件的若干规定（试行）》第十七条）")
    }

    /// The appeal window's rule: 15 days after service of a judgment, 10 of a ruling.
    static func appealRule(_ form: String?) -> String { form == "ruling" ? appealRules[1] : appealRules[0] }

    /// The end of the appeal period.
    static func appealDeadline(_ step: Step) -> Date? {
        step.state.deadlines[appealRule(step.state.facts.judgmentForm)]?.dueAt
    }
}
