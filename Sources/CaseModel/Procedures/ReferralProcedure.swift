/// A referral between two agencies: submitted → received → accepted or
/// returned, with supplements on request, until the receiver concludes it.
enum ReferralProcedure {
    static func apply(_ step: inout Step) throws(Refusal) {
        switch step.event.type {
        case .referralSubmitted:
            try step.require(status: ["opened", "returned"], to: "submit the referral")
            try step.require(role: .holder, to: "submit the referral")
            let receiver = try step.agency(at: "receiver", kinds: Set(AgencyKind.allCases))
            guard receiver.id != step.sender.id else {
                throw Refusal(code: .referralToSelf, reason: "an agency cannot refer a case to itself", reasonZH: "不能向本机关移送")
            }
            step.setRole(.addressee, receiver.id)
            step.recordNumber("number")
            step.move(to: "submitted")
        case .referralReceived:
            try step.require(status: ["submitted"], to: "sign for the referral")
            try step.require(role: .addressee, to: "sign for the referral")
            step.move(to: "received")
        case .referralAccepted:
            try step.require(status: ["submitted", "received"], to: "accept the referral")
            try step.require(role: .addressee, to: "accept the referral")
            step.recordNumber("receiverNumber")
            step.move(to: "accepted")
        case .referralReturned:
            try step.require(status: ["submitted", "received", "supplement-requested"], to: "return the referral")
            try step.require(role: .addressee, to: "return the referral")
            step.move(to: "returned")
        case .referralSupplementRequested:
            try step.require(status: ["received", "accepted"], to: "request a supplement")
            try step.require(role: .addressee, to: "request a supplement")
            step.state.facts.resumeStatus = step.state.status
            step.move(to: "supplement-requested")
        case .referralSupplementProvided:
            try step.require(status: ["supplement-requested"], to: "provide a supplement")
            try step.require(role: .holder, to: "provide a supplement")
            step.move(to: step.state.facts.resumeStatus ?? "received")
            step.state.facts.resumeStatus = nil
        case .referralConcluded:
            try step.require(status: ["accepted"], to: "conclude the referral")
            try step.require(role: .addressee, to: "conclude the referral")
            step.move(to: "concluded")
        default:
            throw Refusal(code: .typeUnknown, reason: "unknown referral event \(step.event.type)")
        }
    }
}
