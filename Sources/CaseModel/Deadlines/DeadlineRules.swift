/// Every statutory deadline the hub tracks. Periods the legal text does not
/// fix for every case (`confirmed: false`: local practice or a city's own
/// setting) are configuration:
/// replace a rule with ``replacing(_:)`` (e.g. from a city's settings file).
public struct DeadlineRules: Sendable {
    public private(set) var rules: [String: DeadlineRule]

    public init(_ rules: [DeadlineRule]) {
        self.rules = Dictionary(rules.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
    }

    public subscript(id: String) -> DeadlineRule {
        guard let rule = rules[id] else { preconditionFailure("no deadline rule \(id)") }
        return rule
    }

    /// A copy with some rules replaced (same ids) or added.
    public func replacing(_ overrides: [DeadlineRule]) -> DeadlineRules {
        var copy = self
        for rule in overrides { copy.rules[rule.id] = rule }
        return copy
    }

    /// Every period shrunk so that a day lasts `secondsPerDay` seconds: for
    /// `casehub run --demo`, so that warnings and overdue notices appear within
    /// minutes. Not the law; never for real cases.
    public func compressed(secondsPerDay: Int) -> DeadlineRules {
        func shrink(_ period: StatutoryPeriod) -> StatutoryPeriod {
            switch period.unit {
            case .seconds: period
            case .hours: .seconds(max(1, period.amount * secondsPerDay / 24))
            case .days, .workingDays: .seconds(period.amount * secondsPerDay)
            case .months: .seconds(period.amount * 30 * secondsPerDay)
            }
        }
        return DeadlineRules(rules.values.map { rule in
            var rule = rule
            rule.period = shrink(rule.period)
            rule.warningLead = shrink(rule.warningLead)
            return rule
        })
    }

    static let decree310 = "《行政执法机关移送涉嫌犯罪案件的规定》（国务院令第310号，2020年修订）"
    static let criminalRules = "《人民检察院刑事诉讼规则》（2019）第557条至第564条"
    static let pilInterpretation = "《最高人民法院 最高人民检察院关于检察公益诉讼案件适用法律若干问题的解释》"
    static let pilRules = "《人民检察院公益诉讼办案规则》（2021）"

    public static let standard = DeadlineRules([
        // Crime transfer (两法衔接)
        DeadlineRule(id: "crime.head-decision", nameZH: "负责人决定是否移送", nameEN: "Head decides whether to transfer",
                     legalBasis: decree310, period: .days(3), warningLead: .days(1), confirmed: true),
        DeadlineRule(id: "crime.transfer", nameZH: "决定移送后24小时内移送公安机关", nameEN: "Transfer to police within 24 hours of the decision",
                     legalBasis: decree310, period: .hours(24), warningLead: .hours(6), confirmed: true, alsoNotified: [.procuratorate]),
        DeadlineRule(id: "crime.police-filing-decision", nameZH: "公安机关决定是否立案", nameEN: "Police decide whether to file",
                     legalBasis: decree310, period: .days(3), warningLead: .days(1), confirmed: true, alsoNotified: [.procuratorate]),
        DeadlineRule(id: "crime.police-filing-decision-clue-check", nameZH: "需核查线索的立案审查期限", nameEN: "Filing decision where clues need checking",
                     legalBasis: decree310 + "及公安机关办理刑事案件程序规定", period: .days(7), warningLead: .days(2), confirmed: false, alsoNotified: [.procuratorate]),
        DeadlineRule(id: "crime.police-filing-decision-major", nameZH: "重大复杂案件的立案审查期限（经批准）", nameEN: "Filing decision for major or complex cases (approved)",
                     legalBasis: decree310 + "及公安机关办理刑事案件程序规定", period: .days(30), warningLead: .days(5), confirmed: false, alsoNotified: [.procuratorate]),
        DeadlineRule(id: "crime.reconsideration-answer", nameZH: "公安机关作出复议决定", nameEN: "Police answer the reconsideration",
                     legalBasis: decree310, period: .days(3), warningLead: .days(1), confirmed: true, alsoNotified: [.procuratorate]),
        DeadlineRule(id: "crime.exhibits-handover", nameZH: "立案后移交涉案物品", nameEN: "Hand over exhibits after filing",
                     legalBasis: decree310, period: .days(3), warningLead: .days(1), confirmed: true, alsoNotified: [.procuratorate]),
        DeadlineRule(id: "crime.police-explanation", nameZH: "公安机关说明不立案理由", nameEN: "Police explain not filing",
                     legalBasis: criminalRules, period: .days(7), warningLead: .days(2), confirmed: true, alsoNotified: [.procuratorate]),
        DeadlineRule(id: "crime.police-filing-after-notice", nameZH: "通知立案后公安机关立案", nameEN: "Police file after the notice to file",
                     legalBasis: criminalRules, period: .days(15), warningLead: .days(3), confirmed: true, alsoNotified: [.procuratorate]),
        DeadlineRule(id: "crime.transfer-after-opinion", nameZH: "收到检察意见后移送", nameEN: "Transfer after the procuratorial opinion",
                     legalBasis: decree310, period: .days(3), warningLead: .days(1), confirmed: true, alsoNotified: [.procuratorate]),
        // Administrative PIL
        DeadlineRule(id: "pil.filing-notice", nameZH: "立案后告知行政机关", nameEN: "Notify the agency of the filing",
                     legalBasis: pilRules, period: .days(7), warningLead: .days(2), confirmed: false),
        DeadlineRule(id: "pil.recommendation-record", nameZH: "检察建议报上级院备案", nameEN: "Record the recommendation with the upper procuratorate",
                     legalBasis: pilRules, period: .days(5), warningLead: .days(1), confirmed: true),
        DeadlineRule(id: "pil.reply", nameZH: "行政机关书面回复检察建议", nameEN: "Agency replies to the recommendation",
                     legalBasis: pilInterpretation + "第21条", period: .months(2), warningLead: .days(10), confirmed: true),
        DeadlineRule(id: "pil.reply-urgent", nameZH: "紧急情形下书面回复检察建议", nameEN: "Agency replies to an urgent recommendation",
                     legalBasis: pilInterpretation + "第21条", period: .days(15), warningLead: .days(3), confirmed: true),
        // Civil PIL
        DeadlineRule(id: "civil-pil.announcement", nameZH: "诉前公告期", nameEN: "Pre-suit announcement period",
                     legalBasis: pilInterpretation + "第13条", period: .days(30), warningLead: .days(3), confirmed: true),
        // Court proceedings
        DeadlineRule(id: "litigation.first-instance", nameZH: "第一审审理期限", nameEN: "First-instance trial period",
                     legalBasis: "《中华人民共和国行政诉讼法》第81条 / 《中华人民共和国民事诉讼法》第152条", period: .months(6), warningLead: .days(30), confirmed: true),
        DeadlineRule(id: "litigation.second-instance", nameZH: "第二审审理期限", nameEN: "Second-instance trial period",
                     legalBasis: "《中华人民共和国行政诉讼法》第88条 / 《中华人民共和国民事诉讼法》第183条", period: .months(3), warningLead: .days(15), confirmed: true),
        // The appeal window: a period to wait out, not an act due (DeadlineRule.waitingPeriods);
        // its notices tell the holder and the court that it is closing or has run.
        DeadlineRule(id: "litigation.appeal-judgment", nameZH: "不服第一审判决的上诉期限", nameEN: "Appeal period against a first-instance judgment",
                     legalBasis: "《中华人民共和国行政诉讼法》第85条 / 《中华人民共和国民事诉讼法》第171条", period: .days(15), warningLead: .days(3),
                     confirmed: true, alsoNotified: [.court]),
        DeadlineRule(id: "litigation.appeal-ruling", nameZH: "不服第一审裁定的上诉期限", nameEN: "Appeal period against a first-instance ruling",
                     legalBasis: "《中华人民共和国行政诉讼法》第85条 / 《中华人民共和国民事诉讼法》第171条", period: .days(10), warningLead: .days(2),
                     confirmed: true, alsoNotified: [.court]),
        // Accountability
        DeadlineRule(id: "accountability.disposal", nameZH: "线索处置意见", nameEN: "Disposal opinion on the clue",
                     legalBasis: "《中国共产党纪律检查机关监督执纪工作规则》（2019）", period: .months(1), warningLead: .days(5), confirmed: false),
        DeadlineRule(id: "accountability.inquiry-reply", nameZH: "函询书面说明", nameEN: "Written reply to a letter inquiry",
                     legalBasis: "《中国共产党纪律检查机关监督执纪工作规则》（2019）", period: .workingDays(15), warningLead: .days(3), confirmed: false),
        DeadlineRule(id: "accountability.feedback", nameZH: "向移送机关反馈处理结果（无法定期限，可配置）", nameEN: "Feedback to the referring organ (no statutory period; configurable)",
                     legalBasis: "《中华人民共和国监察法》（2024）；反馈期限由本市配置", period: .months(3), warningLead: .days(10), confirmed: false),
        // Damage compensation
        DeadlineRule(id: "compensation.consultation", nameZH: "赔偿磋商期限", nameEN: "Compensation consultation period",
                     legalBasis: "《生态环境损害赔偿管理规定》（2022）", period: .days(90), warningLead: .days(10), confirmed: false),
    ])

    /// Most consultation rounds before consultation counts as failed [M].
    public static let defaultMaxConsultationRounds = 3
}
