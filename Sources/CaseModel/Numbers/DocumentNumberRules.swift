/// Which payload fields carry a court, procuratorate or penalty decision
/// number, and what each must be. The hub checks every event against this
/// table whatever path it came by (an agency's canonical event, a native
/// record mapped by an adapter, a file drop), so a number refused as a
/// native record is refused the same as a canonical event.
public struct DocumentNumberRules: Sendable {
    /// What a field holds.
    public enum Kind: Sendable, Hashable {
        /// A court case number (`（2025）湘0211行初12号`), issued by the court
        /// that sends it; from anyone else, by a registered court.
        case courtCase
        /// A procuratorate document number of this business (行公, 民公 …)
        /// and document kind (立 filing, 建 recommendation, 告 announcement,
        /// 诉 complaint).
        case procuratorate(businesses: Set<String>, document: String)
        /// An environment bureau's penalty decision number (`株环罚字〔2025〕醴-24号`).
        case penaltyDecision
    }

    public let registry: AgencyRegistry
    public let procuratorateScheme: ProcuratorateNumberScheme

    public init(registry: AgencyRegistry, procuratorateScheme: ProcuratorateNumberScheme = .standard) {
        self.registry = registry
        self.procuratorateScheme = procuratorateScheme
    }

    static let administrativePIL: Set<String> = ["行公"]
    static let civilPIL: Set<String> = ["民公", "刑附民公"]

    /// The numbered fields of each event type.
    public static let fields: [EventType: [(field: String, kind: Kind)]] = [
        .litigationAccepted: [("caseNumber", .courtCase)],
        .litigationJudgmentIssued: [("documentNumber", .courtCase)],
        .litigationFinal: [("documentNumber", .courtCase)],
        .litigationWithdrawn: [("rulingNumber", .courtCase)],
        .litigationSuspended: [("rulingNumber", .courtCase)],
        .litigationEnforcementTransferred: [("enforcementNumber", .courtCase)],
        .compensationConfirmed: [("caseNumber", .courtCase)],
        .pilFiled: [("documentNumber", .procuratorate(businesses: administrativePIL, document: "立"))],
        .pilRecommendationIssued: [("documentNumber", .procuratorate(businesses: administrativePIL, document: "建"))],
        .pilSuitFiled: [("complaintNumber", .procuratorate(businesses: administrativePIL, document: "诉"))],
        .civilPILFiled: [("documentNumber", .procuratorate(businesses: civilPIL, document: "立"))],
        .civilPILAnnouncementPublished: [("documentNumber", .procuratorate(businesses: civilPIL, document: "告"))],
        .civilPILSuitFiled: [("complaintNumber", .procuratorate(businesses: civilPIL, document: "诉"))],
        .casePenaltyDecided: [("decisionNumber", .penaltyDecision)],
    ]

    /// Nil when every number the event carries is well formed and the
    /// sender's; else the refusal, naming the field.
    public func check(_ event: CloudEvent, sender: Agency) -> Refusal? {
        for (field, kind) in Self.fields[event.type] ?? [] {
            guard let text = event.data[field]?.stringValue else { continue }
            let path = "/data/\(field)"
            do {
                if let problem = try problem(with: text, kind: kind, sender: sender) {
                    return Refusal(code: .numberNotSenders, reason: "\(field) \(text): \(problem.en)", reasonZH: "\(field) \(text)：\(problem.zh)",
                                   violations: [Violation(path: path, rule: "issuer", message: problem.en)])
                }
            } catch {
                return Refusal(code: .numberInvalid, reason: "\(field): \(error)", reasonZH: "\(field)「\(text)」不符合编号规则：\(error.problem)",
                               violations: [Violation(path: path, rule: "number", message: error.description)])
            }
        }
        return nil
    }

    /// Parses the number (throwing when malformed) and says what is wrong
    /// with it for this sender, if anything.
    private func problem(with text: String, kind: Kind, sender: Agency) throws(DocumentNumberError) -> (en: String, zh: String)? {
        switch kind {
        case .courtCase:
            let number = try CourtCaseNumber(parsing: text, registry: registry)
            if sender.kind == .court && !number.isIssued(by: sender) {
                return ("carries court code \(number.courtCode), not \(sender.name)'s (\(sender.courtCode ?? "none"))",
                        "法院代字为\(number.courtCode)，不是\(sender.name)的代字（\(sender.courtCode ?? "未登记")）")
            }
        case .procuratorate(let businesses, let document):
            let number = try procuratorateScheme.parse(text)
            guard businesses.contains(number.business) else {
                throw DocumentNumberError(input: text, problem: "business \(number.business) is not \(businesses.sorted().joined(separator: " or ")) for this event")
            }
            guard number.document == document else {
                throw DocumentNumberError(input: text, problem: "document kind \(number.document) is not \(document) for this event")
            }
            if let issuer = sender.numberIssuer, number.issuer != issuer {
                return ("issued by \(number.issuer), not by \(sender.name) (\(issuer))", "编号机关代字为\(number.issuer)，不是\(sender.name)的代字（\(issuer)）")
            }
        case .penaltyDecision:
            let number = try PenaltyDecisionNumber(parsing: text)
            if let unit = sender.penaltyUnit, number.unitPrefix != unit {
                return ("issued by unit \(number.unitPrefix), not by \(sender.name) (\(unit))", "处罚决定书编号单位为\(number.unitPrefix)，不是\(sender.name)（\(unit)）")
            }
        }
        return nil
    }
}
