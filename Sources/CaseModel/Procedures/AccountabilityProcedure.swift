/// Accountability (纪检监察): a state organ refers a clue about officials to
/// the supervision commission, which chooses exactly one disposal; only
/// preliminary verification leads to a review filing, then a decision;
/// feedback to the referrer is recorded against a configurable period.
enum AccountabilityProcedure {
    static func apply(_ step: inout Step) throws(Refusal) {
        switch step.event.type {
        case .accountabilityClueReferred:
            try step.require(status: ["opened"], to: "refer a clue")
            try step.require(role: .holder, to: "refer a clue")
            let commission = try step.agency(at: "commission", kinds: [.disciplineCommission])
            guard commission.id != step.sender.id else {
                throw Refusal(code: .referralToSelf, reason: "a commission cannot refer a clue to itself", reasonZH: "不能向本机关移送")
            }
            step.setRole(.commission, commission.id)
            step.start("accountability.disposal", obliged: commission.id, trigger: step.at)
            step.start("accountability.feedback", obliged: commission.id, trigger: step.at)
            step.move(to: "referred")

        case .accountabilityDisposalChosen:
            try step.require(status: ["referred", "inquiry-replied"], to: "choose a disposal")
            try step.require(role: .commission, to: "choose a disposal")
            step.meet("accountability.disposal")
            let disposal = step.string("disposal") ?? ""
            step.state.facts.disposal = disposal
            switch disposal {
            case "talk-or-letter-inquiry":
                step.start("accountability.inquiry-reply", obliged: step.sender.id, trigger: step.at)
                step.move(to: "inquiry")
            case "preliminary-verification": step.move(to: "verification")
            case "shelved": step.move(to: "shelved")
            default: step.move(to: "closed")
            }

        case .accountabilityInquiryReplied:
            try step.require(status: ["inquiry"], to: "record the inquiry reply")
            try step.require(role: .commission, to: "record the inquiry reply")
            step.meet("accountability.inquiry-reply")
            step.move(to: "inquiry-replied")

        case .accountabilityVerificationConcluded:
            try step.require(status: ["verification"], to: "conclude the preliminary verification")
            try step.require(role: .commission, to: "conclude the verification")
            step.move(to: step.string("finding") == "substantiated" ? "verified" : "closed")

        case .accountabilityReviewFiled:
            if step.state.status == "inquiry" || step.state.status == "referred" || step.state.status == "inquiry-replied" {
                throw Refusal(code: .accountabilityNoVerification, reason: "a review is filed only after preliminary verification",
                              reasonZH: "未经初步核实不得立案审查调查")
            }
            try step.require(status: ["verified"], to: "file for review")
            try step.require(role: .commission, to: "file for review")
            step.recordNumber("documentNumber")
            step.move(to: "review")

        case .accountabilitySanctionDecided:
            try step.require(status: ["review"], to: "decide a sanction")
            try step.require(role: .commission, to: "decide a sanction")
            step.recordNumber("documentNumber")
            step.move(to: "decided")

        case .accountabilityFeedbackSent:
            try step.require(role: .commission, to: "send feedback")
            guard step.string("referrer") == step.state.parties[.holder]?.rawValue else {
                throw Refusal(code: .feedbackWrongReferrer, reason: "feedback goes to the organ that referred the clue",
                              reasonZH: "应当向移送线索的机关反馈",
                              violations: [Violation(path: "/data/referrer", rule: "case-party", message: "must be \(step.state.parties[.holder]?.rawValue ?? "")")])
            }
            step.meet("accountability.feedback")
            step.state.facts.feedbackSent = true

        default:
            throw Refusal(code: .typeUnknown, reason: "unknown accountability event \(step.event.type)")
        }
    }
}
