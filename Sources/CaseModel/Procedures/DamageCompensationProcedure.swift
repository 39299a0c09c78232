/// Ecological damage compensation (生态环境损害赔偿): assessment →
/// consultation (about 90 days, at most 3 rounds by default) → agreement and
/// optional judicial confirmation, or a suit at the intermediate court.
enum DamageCompensationProcedure {
    static func apply(_ step: inout Step) throws(Refusal) {
        let holder = step.state.parties[.holder]!
        switch step.event.type {
        case .compensationAssessmentCompleted:
            try step.require(status: ["opened"], to: "record the assessment")
            try step.require(role: .holder, to: "record the assessment")
            step.move(to: "assessed")

        case .compensationConsultationStarted:
            try step.require(status: ["assessed"], to: "start consultation")
            try step.require(role: .holder, to: "start consultation")
            step.start("compensation.consultation", obliged: holder, trigger: step.at)
            step.move(to: "consulting")

        case .compensationConsultationRoundHeld:
            try step.require(status: ["consulting"], to: "hold a consultation round")
            try step.require(role: .holder, to: "hold a consultation round")
            let round = step.data["round"].flatMap { if case .integer(let n) = $0 { Int(n) } else { nil } } ?? 0
            let expected = step.state.facts.consultationRounds + 1
            guard round == expected else {
                throw Refusal(code: .consultationRoundOrder, reason: "the next round is \(expected)", reasonZH: "磋商轮次应为第\(expected)轮",
                              violations: [Violation(path: "/data/round", rule: "sequence", message: "must be \(expected)")])
            }
            guard round <= step.machine.maxConsultationRounds else {
                throw Refusal(code: .consultationRoundsExceeded,
                              reason: "at most \(step.machine.maxConsultationRounds) consultation rounds; record the consultation as failed",
                              reasonZH: "磋商一般不超过\(step.machine.maxConsultationRounds)轮")
            }
            step.state.facts.consultationRounds = round

        case .compensationAgreementReached:
            try step.require(status: ["consulting"], to: "record an agreement")
            try step.require(role: .holder, to: "record an agreement")
            step.meet("compensation.consultation")
            step.recordNumber("agreementNumber")
            step.move(to: "agreed")

        case .compensationConsultationFailed:
            try step.require(status: ["consulting", "assessed"], to: "record failed consultation")
            try step.require(role: .holder, to: "record failed consultation")
            step.meet("compensation.consultation")
            step.state.facts.consultationFailedEventID = step.event.id
            step.move(to: "failed")

        case .compensationConfirmationRequested:
            try step.require(status: ["agreed"], to: "request judicial confirmation")
            try step.require(role: .holder, to: "request judicial confirmation")
            let court = try step.agency(at: "court", kinds: [.court])
            step.setRole(.court, court.id)
            step.move(to: "confirmation-requested")

        case .compensationConfirmed:
            try step.require(status: ["confirmation-requested"], to: "confirm the agreement")
            try step.require(role: .court, to: "confirm the agreement")
            step.recordNumber("caseNumber")
            step.move(to: "confirmed")

        case .compensationSuitFiled:
            try step.require(status: ["failed"], to: "file a compensation suit")
            try step.require(role: .holder, to: "file the suit")
            try step.requireReference("consultationFailedEventId", equals: step.state.facts.consultationFailedEventID, "the failed consultation")
            let court = try step.agency(at: "court", kinds: [.court])
            guard court.level == .city else {
                throw Refusal(code: .suitWrongCourt, reason: "compensation suits go to an intermediate court",
                              reasonZH: "生态环境损害赔偿诉讼由中级人民法院管辖",
                              violations: [Violation(path: "/data/court", rule: "jurisdiction", message: "must be an intermediate court")])
            }
            step.setRole(.court, court.id)
            step.move(to: "suit-filed")

        default:
            throw Refusal(code: .typeUnknown, reason: "unknown compensation event \(step.event.type)")
        }
    }
}
