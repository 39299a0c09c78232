/// Administrative public-interest litigation (行政公益诉讼): clue → filed →
/// pre-litigation recommendation → the agency's reply (2 months from its
/// receipt, 15 days when urgent) → follow-up → terminated or suit.
enum AdministrativePILProcedure {
    /// Kinds of agency a PIL recommendation can address: administrative organs.
    static let administrativeKinds: Set<AgencyKind> = [.environmentBureau, .publicSecurity]

    static func apply(_ step: inout Step) throws(Refusal) {
        let holder = step.state.parties[.holder]!
        switch step.event.type {
        case .pilClueRegistered:
            try step.require(status: ["opened"], to: "register a PIL clue")
            try step.require(role: .holder, to: "register a PIL clue")
            step.move(to: "clue")

        case .pilFiled:
            try step.require(status: ["opened", "clue"], to: "file the PIL case")
            try step.require(role: .holder, to: "file the PIL case")
            let agency = try step.agency(at: "agency", kinds: administrativeKinds)
            step.setRole(.addressee, agency.id)
            step.recordNumber("documentNumber")
            step.start("pil.filing-notice", obliged: holder, trigger: step.at)
            step.move(to: "filed")

        case .pilFilingNoticeServed:
            try step.require(status: ["filed"], to: "record service of the filing notice")
            try step.require(role: .holder, to: "record service of the filing notice")
            step.meet("pil.filing-notice")
            step.move(to: "investigation")

        case .pilRecommendationIssued:
            try step.require(status: ["filed", "investigation"], to: "issue a recommendation")
            try step.require(role: .holder, to: "issue a recommendation")
            let agency = try step.agency(at: "agency", kinds: administrativeKinds)
            guard agency.id == step.state.parties[.addressee] else {
                throw Refusal(code: .recommendationWrongAgency,
                              reason: "the recommendation must address the agency the case was filed against (\(step.state.parties[.addressee]?.rawValue ?? "-"))",
                              reasonZH: "检察建议应当向立案时确定的行政机关发出",
                              violations: [Violation(path: "/data/agency", rule: "case-party", message: "must be the case's administrative organ")])
            }
            step.meet("pil.filing-notice")
            step.state.facts.urgent = step.bool("urgent") ?? false
            step.state.facts.recommendationEventID = step.event.id
            step.state.facts.recommendationIssuedAt = step.at
            // The reply period runs from the organ's receipt (收到之日): from the
            // hub's delivery into its inbox, or its acknowledgement if earlier.
            let addressee = step.state.parties[.addressee]!
            step.awaitService(step.state.facts.urgent == true ? "pil.reply-urgent" : "pil.reply", obliged: addressee, servedTo: addressee)
            step.awaitService("pil.recommendation-record", obliged: holder, servedTo: addressee)
            step.move(to: "recommendation-issued")

        case .pilRecommendationReceived:
            try step.require(status: ["recommendation-issued", "awaiting-reply"], to: "record receipt of the recommendation")
            try step.require(role: .addressee, .holder, to: "record receipt of the recommendation")
            // An acknowledgement (or a service on paper the procuratorate
            // records): the reply clock starts now if the hub has not yet
            // delivered the recommendation. The declared receipt is the
            // sender's claim, kept in the record: it cannot precede the
            // recommendation's arrival at the hub nor follow this record of it,
            // and it does not move the clock.
            let declared = try step.recordedInstant("receivedAt", notBefore: step.state.facts.recommendationIssuedAt ?? step.state.openedAt)
            if step.state.deadlines["pil.reply"] == nil && step.state.deadlines["pil.reply-urgent"] == nil {
                // A case whose recommendation predates clocks that await service.
                let addressee = step.state.parties[.addressee]!
                step.start(step.state.facts.urgent == true ? "pil.reply-urgent" : "pil.reply", obliged: addressee, trigger: step.at)
                step.start("pil.recommendation-record", obliged: holder, trigger: step.at)
            }
            step.acknowledgeReceipt("pil.reply", "pil.reply-urgent", "pil.recommendation-record", declared: declared)
            step.move(to: "awaiting-reply")

        case .pilRecommendationRecorded:
            try step.require(status: ["awaiting-reply", "replied", "follow-up"], to: "record the recommendation upstream")
            try step.require(role: .holder, to: "record the recommendation upstream")
            step.meet("pil.recommendation-record")

        case .pilReplySubmitted:
            try step.require(status: ["awaiting-reply"], to: "reply to the recommendation")
            try step.require(role: .addressee, to: "reply to the recommendation")
            step.meet("pil.reply", "pil.reply-urgent")
            step.state.facts.replyEventID = step.event.id
            step.move(to: "replied")

        case .pilFollowUpRecorded:
            try step.require(status: ["awaiting-reply", "replied", "follow-up"], to: "record a follow-up investigation")
            try step.require(role: .holder, to: "record a follow-up investigation")
            if step.state.status == "awaiting-reply", !replyPeriodHasRun(step) {
                throw Refusal(code: .pilReplyPeriodRunning,
                              reason: "follow-up comes after the agency's reply or after the reply period has run",
                              reasonZH: "行政机关回复期限未届满且未回复，不能跟进调查")
            }
            step.state.facts.followUpEventID = step.event.id
            step.state.facts.agencyStillFailing = step.bool("agencyStillFailing")
            step.state.facts.harmContinuing = step.bool("harmContinuing")
            step.move(to: "follow-up")

        case .pilTerminated:
            try step.require(status: ["clue", "filed", "investigation", "replied", "follow-up"], to: "terminate the case")
            try step.require(role: .holder, to: "terminate the case")
            step.stopRunning(except: ["pil.recommendation-record"])
            step.move(to: "terminated")

        case .pilSuitFiled:
            try step.require(status: ["follow-up"], to: "file an administrative PIL suit")
            try step.require(role: .holder, to: "file the suit")
            try requireSuitConditions(step)
            let court = try step.agency(at: "court", kinds: [.court])
            if let holderAgency = step.machine.registry[holder], holderAgency.level == .county,
               let addressee = step.state.parties[.addressee].flatMap({ step.machine.registry[$0] }),
               court.level != .county || court.divisionCode != addressee.divisionCode {
                throw Refusal(code: .suitWrongCourt,
                              reason: "a basic procuratorate sues in the basic court where the agency sits (division \(addressee.divisionCode))",
                              reasonZH: "基层检察院应当向行政机关所在地的基层法院起诉",
                              violations: [Violation(path: "/data/court", rule: "jurisdiction", message: "must be the basic court of division \(addressee.divisionCode)")])
            }
            step.setRole(.court, court.id)
            step.recordNumber("complaintNumber")
            step.move(to: "suit-filed")

        default:
            throw Refusal(code: .typeUnknown, reason: "unknown PIL event \(step.event.type)")
        }
    }

    static func replyPeriodHasRun(_ step: Step) -> Bool {
        let reply = step.state.deadlines["pil.reply"] ?? step.state.deadlines["pil.reply-urgent"]
        guard let reply else { return false }
        return step.at >= reply.dueAt
    }

    /// A suit needs a recommendation, a reply period that has run, and a
    /// follow-up showing the agency still failing and the harm continuing;
    /// the filing proves all three by referencing their events.
    static func requireSuitConditions(_ step: Step) throws(Refusal) {
        guard step.state.facts.recommendationEventID != nil else {
            throw Refusal(code: .pilNoRecommendation, reason: "no pre-litigation recommendation was issued", reasonZH: "未发出诉前检察建议")
        }
        guard replyPeriodHasRun(step) else {
            throw Refusal(code: .pilReplyPeriodRunning, reason: "the agency's reply period has not run yet",
                          reasonZH: "行政机关回复期限尚未届满")
        }
        guard step.state.facts.agencyStillFailing == true, step.state.facts.harmContinuing == true else {
            throw Refusal(code: .pilNoContinuingFailure,
                          reason: "the follow-up does not show the agency still failing to act and the harm continuing",
                          reasonZH: "跟进调查未认定行政机关仍未依法履职且公益仍处于受侵害状态")
        }
        try step.requireReference("recommendationEventId", equals: step.state.facts.recommendationEventID, "the recommendation", path: "proofs")
        try step.requireReference("followUpEventId", equals: step.state.facts.followUpEventID, "the follow-up investigation", path: "proofs")
    }
}
