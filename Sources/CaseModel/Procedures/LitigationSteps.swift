import Foundation

/// The court steps of a suit (administrative PIL, civil PIL, compensation):
/// acceptance → hearing → judgment or ruling → appeal (15 days from service
/// of a judgment, 10 of a ruling) → final → enforcement.
enum LitigationSteps {
    static func apply(_ step: inout Step) throws(Refusal) {
        switch step.event.type {
        case .litigationAccepted:
            try step.require(status: ["suit-filed", "supporting"], to: "accept the suit")
            try step.require(role: .court, to: "accept the suit")
            step.recordNumber("caseNumber")
            step.start("litigation.first-instance", obliged: step.sender.id, trigger: step.event.time)
            step.move(to: "in-court")

        case .litigationHearingScheduled:
            try step.require(status: ["in-court", "appeal"], to: "schedule a hearing")
            try step.require(role: step.state.status == "appeal" ? .appealCourt : .court, to: "schedule a hearing")

        case .litigationJudgmentIssued:
            try step.require(status: ["in-court", "appeal"], to: "issue a judgment or ruling")
            let expected = step.state.status == "appeal" ? "second" : "first"
            try step.require(role: expected == "second" ? .appealCourt : .court, to: "issue the judgment")
            guard step.string("instance") == expected else {
                throw Refusal(code: .judgmentWrongInstance, reason: "this is the \(expected) instance",
                              reasonZH: "审级不符", violations: [Violation(path: "/data/instance", rule: "const", message: "must be \(expected)")])
            }
            step.meet(expected == "first" ? "litigation.first-instance" : "litigation.second-instance")
            step.state.facts.judgmentForm = step.string("form")
            step.state.facts.judgmentInstance = expected
            step.state.facts.judgmentServedOn = step.date("servedOn")
            // The appeal window is tracked like a deadline: in the views, warned of, closed by the appeal or finality.
            if expected == "first", let served = step.state.facts.judgmentServedOn, let holder = step.state.parties[.holder] {
                step.start(appealRule(step.state.facts.judgmentForm), obliged: holder, trigger: served.startInstant)
            }
            step.move(to: "judged")

        case .litigationWithdrawn:
            try step.require(status: ["suit-filed", "in-court", "appeal"], to: "withdraw the suit")
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
            if let deadline = appealDeadline(step), step.event.time >= deadline {
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
            step.start("litigation.second-instance", obliged: appealCourt.id, trigger: step.event.time)
            step.move(to: "appeal")

        case .litigationFinal:
            try step.require(status: ["judged"], to: "declare the judgment final")
            try step.require(role: .court, .appealCourt, to: "declare the judgment final")
            if step.state.facts.judgmentInstance == "first", let deadline = appealDeadline(step), step.event.time < deadline {
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

    /// The appeal window's rule: 15 days after service of a judgment, 10 of a ruling.
    static func appealRule(_ form: String?) -> String { form == "ruling" ? appealRules[1] : appealRules[0] }

    /// The end of the appeal period.
    static func appealDeadline(_ step: Step) -> Date? {
        guard let served = step.state.facts.judgmentServedOn else { return nil }
        return step.machine.calculator.due(after: served.startInstant, period: step.machine.rules[appealRule(step.state.facts.judgmentForm)].period)
    }
}
