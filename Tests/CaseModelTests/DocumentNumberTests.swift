import CaseModel
import Testing

struct DocumentNumberTests {
    @Test(arguments: [
        ("（2023）湘02行终23号", "湘02", "行终", 23),
        ("（2025）湘0211行初12号", "湘0211", "行初", 12),
        ("（2025）湘0211执345号", "湘0211", "执", 345),
        ("（2025）湘02民特7号", "湘02", "民特", 7),
        ("（2024）湘0281刑初1号", "湘0281", "刑初", 1),
    ])
    func courtNumbersRoundTrip(text: String, court: String, type: String, sequence: Int) throws {
        let number = try CourtCaseNumber(parsing: text, registry: .zhuzhou)
        #expect(number.courtCode == court && number.typeCode == type && number.sequence == sequence)
        #expect(number.description == text)
        #expect(try CourtCaseNumber(parsing: number.description) == number)
    }

    @Test func halfWidthBracketsAndStraySpacesAreNormalised() throws {
        let number = try CourtCaseNumber(parsing: " (2023) 湘02 行终 23号 ")
        #expect(number.description == "（2023）湘02行终23号")
        #expect(number.isIssued(by: AgencyRegistry.zhuzhou["zz-court"]!))
        #expect(!number.isIssued(by: AgencyRegistry.zhuzhou["tianyuan-court"]!))
    }

    @Test func aSpecialTrialMarkIsKept() throws {
        let number = try CourtCaseNumber(parsing: "（2025）湘02知民终5号")
        #expect(number.specialMark == "知" && number.typeCode == "民终")
    }

    @Test(arguments: [
        ("2023湘02行终23号", "starts with the year"),
        ("（23）湘02行终23号", "4 digits"),
        ("（2023）湘2行终23号", "intermediate courts have 2, basic courts 4"),
        ("（2023）湘02行X23号", "unknown case type code"),
        ("（2023）湘02行终023号", "leading zeros"),
        ("（2023）湘02行终23", "ends with 号"),
        ("（2023）02行终23号", "province abbreviation"),
    ])
    func badCourtNumbersSayWhatIsWrong(text: String, problem: String) {
        #expect {
            _ = try CourtCaseNumber(parsing: text)
        } throws: { error in
            "\(error)".contains(problem)
        }
    }

    @Test func courtCodeMustBeRegistered() {
        #expect {
            _ = try CourtCaseNumber(parsing: "（2023）湘0299行初1号", registry: .zhuzhou)
        } throws: { error in
            "\(error)".contains("湘0299 is not a registered court")
        }
    }

    @Test func governmentAndPenaltyNumbers() throws {
        let letter = try GovernmentDocumentNumber(parsing: "株环函[2025]31号")
        #expect(letter.description == "株环函〔2025〕31号" && letter.issuerMark == "株环函")
        #expect(throws: DocumentNumberError.self) { try GovernmentDocumentNumber(parsing: "株环函〔2025〕031号") }
        #expect(throws: DocumentNumberError.self) { try GovernmentDocumentNumber(parsing: "〔2025〕31号") }

        for text in ["株环罚字〔2025〕S-5号", "株环罚字〔2024〕Z-6号", "株环罚字〔2025〕醴-24号"] {
            let penalty = try PenaltyDecisionNumber(parsing: text)
            #expect(penalty.description == text)
        }
        #expect(try PenaltyDecisionNumber(parsing: "株环罚字（2025）醴－24号").description == "株环罚字〔2025〕醴-24号")
        #expect {
            _ = try PenaltyDecisionNumber(parsing: "株环罚字〔2025〕24号")
        } throws: { error in "\(error)".contains("hyphen") }
        #expect {
            _ = try PenaltyDecisionNumber(parsing: "株环评〔2025〕S-5号")
        } throws: { error in "\(error)".contains("starts with 株环罚字") }
    }

    @Test func procuratorateNumbersFollowTheConfigurablePattern() throws {
        let number = try ProcuratorateNumberScheme.standard.parse("株天检行公建〔2025〕7号")
        #expect(number.issuer == "株天检" && number.business == "行公" && number.document == "建" && number.sequence == 7)
        #expect(number.description == "株天检行公建〔2025〕7号")
        #expect(try ProcuratorateNumberScheme.standard.parse("株检刑附民公诉[2025]1号").business == "刑附民公")
        #expect(throws: DocumentNumberError.self) { try ProcuratorateNumberScheme.standard.parse("株天检行公X〔2025〕7号") }
        // Another city's dialect is configuration, not code.
        let other = try ProcuratorateNumberScheme(pattern: #"^(?<issuer>\p{Han}+检)(?<business>公益)(?<document>建议)〔(?<year>[0-9]{4})〕(?<sequence>[0-9]+)号$"#)
        #expect(try other.parse("长检公益建议〔2025〕3号").document == "建议")
    }
}
