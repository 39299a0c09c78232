/// Transfer of a suspected environmental crime to police (两法衔接), under
/// State Council Decree 310 and the 2019 criminal procedure rules.
///
/// reported → (head decides in 3 days) → transfer decided → (24 hours) →
/// transferred → police sign → (3 days, extendable to 7 or 30) → filed or not
/// filed; after a refusal: reconsideration (3 days each way), filing
/// supervision by the procuratorate (explanation in 7 days, notice to file,
/// filing in 15 days); after filing, exhibits within 3 days. A procuratorial
/// opinion obliges a bureau that declined to transfer within 3 days.
enum CrimeTransferProcedure {
    static let policeDecision = ["crime.police-filing-decision", "crime.police-filing-decision-clue-check", "crime.police-filing-decision-major"]
    /// Where the police decide on filing for the first time (or must file, after a notice).
    static let firstDecision: Set<String> = ["transferred", "received-by-police", "filing-notice"]
    /// Where they have declined and may still file of their own accord.
    static let afterRefusal: Set<String> = ["not-filed", "refusal-maintained", "supervision-requested", "explanation-requested", "explanation-given"]

    static func apply(_ step: inout Step) throws(Refusal) {
        let holder = step.state.parties[.holder]!
        switch step.event.type {
        case .crimeCaseReported:
            try step.require(status: ["opened"], to: "report the case to the head")
            try step.require(role: .holder, to: "report the case")
            step.recordNumber("number")
            step.start("crime.head-decision", obliged: holder, trigger: step.at)
            step.move(to: "reported")

        case .crimeTransferDecided:
            try step.require(status: ["reported"], to: "decide on the transfer")
            try step.require(role: .holder, to: "decide on the transfer")
            step.meet("crime.head-decision")
            if step.string("decision") == "transfer" {
                step.start("crime.transfer", obliged: holder, trigger: step.at)
                step.move(to: "transfer-decided")
            } else {
                guard step.data["reasons"]?.arrayValue?.isEmpty == false else {
                    throw Refusal(code: .reasonsRequired, reason: "a decision not to transfer must record its reasons",
                                  reasonZH: "不移送的决定应当记录理由",
                                  violations: [Violation(path: "/data/reasons", rule: "required", message: "reasons are required when decision is not-transfer")])
                }
                step.move(to: "not-transferred")
            }

        case .crimeProcuratorialOpinionIssued:
            try step.require(status: ["not-transferred"], to: "issue a procuratorial opinion to transfer")
            try step.require(kind: .procuratorate, to: "issue a procuratorial opinion")
            step.setRole(.procuratorate, step.sender.id)
            step.start("crime.transfer-after-opinion", obliged: holder, trigger: step.at)
            step.move(to: "opinion-issued")

        case .crimeTransferred:
            try step.require(status: ["transfer-decided", "opinion-issued"], to: "transfer the case")
            try step.require(role: .holder, to: "transfer the case")
            let police = try step.agency(at: "police", kinds: [.publicSecurity])
            let procuratorate = try step.agency(at: "procuratorate", kinds: [.procuratorate])
            step.setRole(.police, police.id)
            step.setRole(.procuratorate, procuratorate.id)
            step.recordNumber("transferNumber")
            step.meet("crime.transfer", "crime.transfer-after-opinion")
            // The police decide within 3 days of accepting the transfer: from
            // the hub's delivery into their inbox, or their receipt if earlier.
            step.awaitService("crime.police-filing-decision", obliged: police.id, servedTo: police.id)
            step.move(to: "transferred")

        case .crimeReceiptSigned:
            try step.require(status: ["transferred"], to: "sign the receipt")
            try step.require(role: .police, to: "sign the receipt")
            switch step.state.deadlines["crime.police-filing-decision"]?.state {
            case .awaitingService?: step.acknowledgeReceipt("crime.police-filing-decision")
            case .running?: break  // the hub delivered the transfer first: its clock runs from then
            default: step.start("crime.police-filing-decision", obliged: step.sender.id, trigger: step.at)
            }
            step.move(to: "received-by-police")

        case .crimeForwarded:
            try step.require(status: ["transferred", "received-by-police"], to: "forward the case")
            try step.require(role: .police, to: "forward the case")
            let police = try step.agency(at: "police", kinds: [.publicSecurity])
            step.stopRunning()
            step.setRole(.police, police.id)
            step.awaitService("crime.police-filing-decision", obliged: police.id, servedTo: police.id)
            step.move(to: "transferred")

        case .crimeFilingPeriodExtended:
            try step.require(status: ["received-by-police"], to: "extend the filing review")
            try step.require(role: .police, to: "extend the filing review")
            guard let current = step.state.deadlines["crime.police-filing-decision"], current.state == .running else {
                throw Refusal(code: .deadlineNotRunning, reason: "no filing review period is running", reasonZH: "立案审查期限未在计算中")
            }
            let rule = step.string("extension") == "clue-check-7-days" ? "crime.police-filing-decision-clue-check" : "crime.police-filing-decision-major"
            step.stopRunning()
            step.start(rule, obliged: step.sender.id, trigger: current.startedAt)

        case .crimeFilingDecided:
            let filing = step.string("decision") == "filed"
            // The police may file on their own at any point after declining,
            // e.g. once asked to explain why they did not (立案监督).
            try step.require(status: filing ? firstDecision.union(afterRefusal) : firstDecision, to: filing ? "file the case" : "decide not to file")
            try step.require(role: .police, to: "decide on filing")
            step.recordNumber("policeNumber")
            if filing {
                for rule in policeDecision { step.meet(rule) }
                // Filing answers a notice to file and a request to explain alike.
                step.meet("crime.police-filing-after-notice", "crime.police-explanation")
                step.start("crime.exhibits-handover", obliged: holder, trigger: step.at)
                step.move(to: "filed")
            } else {
                guard step.state.status != "filing-notice" else {
                    throw Refusal(code: .transitionNotAllowed, reason: "after a notice to file, the police must file",
                                  reasonZH: "检察院通知立案后，公安机关应当立案")
                }
                guard step.data["reasons"]?.arrayValue?.isEmpty == false else {
                    throw Refusal(code: .reasonsRequired, reason: "a decision not to file must give reasons and return the file",
                                  reasonZH: "不予立案应当说明理由并退回案卷",
                                  violations: [Violation(path: "/data/reasons", rule: "required", message: "reasons are required when decision is not-filed")])
                }
                for rule in policeDecision { step.meet(rule) }
                step.state.facts.notFiledAt = step.at
                step.move(to: "not-filed")
            }

        case .crimeReconsiderationRequested:
            try step.require(status: ["not-filed"], to: "request reconsideration")
            try step.require(role: .holder, to: "request reconsideration")
            if let refused = step.state.facts.notFiledAt,
               step.at > step.machine.calculator.due(after: refused, period: .days(3)) {
                throw Refusal(code: .deadlinePassed, reason: "reconsideration must be requested within 3 days of the refusal to file",
                              reasonZH: "应当在收到不予立案决定后3日内提请复议")
            }
            step.start("crime.reconsideration-answer", obliged: step.state.parties[.police]!, trigger: step.at)
            step.move(to: "reconsideration")

        case .crimeReconsiderationAnswered:
            try step.require(status: ["reconsideration"], to: "answer the reconsideration")
            try step.require(role: .police, to: "answer the reconsideration")
            step.meet("crime.reconsideration-answer")
            if step.string("decision") == "filed" {
                step.start("crime.exhibits-handover", obliged: holder, trigger: step.at)
                step.move(to: "filed")
            } else {
                step.move(to: "refusal-maintained")
            }

        case .crimeSupervisionRequested:
            try step.require(status: ["not-filed", "refusal-maintained"], to: "request filing supervision")
            try step.require(role: .holder, to: "request filing supervision")
            let procuratorate = try step.agency(at: "procuratorate", kinds: [.procuratorate])
            step.setRole(.procuratorate, procuratorate.id)
            step.move(to: "supervision-requested")

        case .crimeExplanationRequested:
            try step.require(status: ["supervision-requested"], to: "ask the police to explain")
            try step.require(role: .procuratorate, to: "ask the police to explain")
            step.start("crime.police-explanation", obliged: step.state.parties[.police]!, trigger: step.at)
            step.move(to: "explanation-requested")

        case .crimeExplanationGiven:
            try step.require(status: ["explanation-requested"], to: "explain not filing")
            try step.require(role: .police, to: "explain not filing")
            step.meet("crime.police-explanation")
            step.move(to: "explanation-given")

        case .crimeFilingNoticeIssued:
            try step.require(status: ["explanation-requested", "explanation-given"], to: "issue a notice to file")
            try step.require(role: .procuratorate, to: "issue a notice to file")
            step.stopRunning()
            step.start("crime.police-filing-after-notice", obliged: step.state.parties[.police]!, trigger: step.at)
            step.move(to: "filing-notice")

        case .crimeExhibitsHandedOver:
            try step.require(status: ["filed"], to: "hand over exhibits")
            try step.require(role: .holder, to: "hand over exhibits")
            step.meet("crime.exhibits-handover")
            step.move(to: "exhibits-handed-over")

        default:
            throw Refusal(code: .typeUnknown, reason: "unknown crime-transfer event \(step.event.type)")
        }
    }
}
