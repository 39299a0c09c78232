/// An environment bureau's administrative penalty decision (行政处罚决定),
/// recorded on the bureau's case of any procedure, or opening a case of its
/// own when none exists.
///
/// State Council Decree 310 art. 11: a law-enforcement organ may not impose
/// an administrative penalty in place of transferring a suspected crime
/// (不得以行政处罚代替移送). So:
/// - a penalty on a crime-transfer case whose transfer was decided (by the
///   head, or after a procuratorial opinion) but not yet carried out is
///   refused, naming the rule;
/// - a penalty on a case under transfer (reported to the head, transferred,
///   with the police), or naming such a case by link or by the bureau's own
///   number for it, goes to the procuratorate that supervises the transfer.
///
/// A penalty decision number is unique per issuing bureau: the hub keeps the
/// numbers it has accepted and refuses a second decision under one of them
/// (`penalty.number-reused`, checked by the hub against every case).
enum PenaltyDecisions {
    /// A transfer was decided and not carried out.
    static let transferPending: Set<String> = ["transfer-decided", "opinion-issued"]
    /// The transfer is being decided or has been made and is with the police.
    static let underTransfer: Set<String> = [
        "reported", "transferred", "received-by-police", "filed", "not-filed", "reconsideration", "refusal-maintained",
        "supervision-requested", "explanation-requested", "explanation-given", "filing-notice",
    ]
    static let rule = "《行政执法机关移送涉嫌犯罪案件的规定》（国务院令第310号）第十一条"

    static func apply(_ step: inout Step) throws(Refusal) {
        // A case the bureau is not party to is one it cannot know of: as if it did not exist.
        let related = step.related.flatMap { $0.role(of: step.sender.id).isEmpty ? nil : $0 }
        try step.require(kind: .environmentBureau, to: "record an administrative penalty decision")
        if step.state.version > 0 {
            try step.require(role: .holder, to: "record a penalty decision on the case")
        }
        var supervisors: [AgencyID] = []
        for concerned in [step.state.version > 0 ? step.state : nil, related].compactMap({ $0 }) where concerned.procedure == .crimeTransfer {
            if transferPending.contains(concerned.status) {
                throw Refusal(
                    code: .penaltyInsteadOfTransfer,
                    reason: "case \(concerned.caseID) was decided to be transferred to the police ('\(concerned.status)') and is not yet transferred: "
                        + "no administrative penalty in place of the transfer (State Council Decree 310, art. 11)",
                    reasonZH: "案件\(concerned.caseID)已决定移送公安机关但尚未移送，不得以行政处罚代替移送（\(rule)）",
                    violations: [Violation(path: related?.caseID == concerned.caseID ? "/data/relatedCaseId" : "/subject",
                                           rule: "penalty-instead-of-transfer", message: "the case's transfer was decided and not carried out")])
            }
            if underTransfer.contains(concerned.status) {
                let supervisor = concerned.parties[.procuratorate] ?? step.machine.registry.supervisingProcuratorate(of: step.sender)?.id
                if let supervisor, !supervisors.contains(supervisor) { supervisors.append(supervisor) }
            }
        }
        let number = PenaltyDecisionNumber.normalised(step.string("decisionNumber") ?? "")
        step.state.facts.penaltyDecisionNumbers = (step.state.facts.penaltyDecisionNumbers ?? []) + [number]
        if step.state.numbers[step.sender.id] == nil { step.state.numbers[step.sender.id] = number }
        if let related, related.caseID != step.state.caseID {
            let link = CaseLink(caseID: related.caseID, relation: "same-act")
            if !step.state.links.contains(link) { step.state.links.append(link) }
            step.effects.append(.link(caseID: related.caseID, relation: "same-act"))
        }
        // Parties hear of it anyway (CaseMachine.finish); a supervisor that is not one is told here.
        for supervisor in supervisors where !step.state.partyAgencies.contains(supervisor) {
            step.effects.append(.notify(supervisor))
        }
    }
}
