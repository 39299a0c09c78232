import CaseModel
import Foundation
import TestSupport
import Testing

struct CivilPILTests {
    static let proc: AgencyID = "zz-procuratorate"

    static func announced(criminalIncidental: Bool = false) -> Scenario {
        var s = Scenario()
        s.accept("civil-pil.clue-registered", by: proc, at: "2025-04-01", ["clueSource": "criminal-case", "summary": "倾倒危废"])
        s.accept("civil-pil.filed", by: proc, at: "2025-04-10", ["documentNumber": "株检民公立〔2025〕2号", "criminalIncidental": .bool(criminalIncidental)])
        s.accept("civil-pil.announcement-published", by: proc, at: "2025-05-06",
                 ["documentNumber": "株检民公告〔2025〕2号", "publishedOn": "2025-05-06", "channel": "正义网"])
        return s
    }

    @Test func noSuitBeforeTheThirtyDayAnnouncementEnds() throws {
        var s = Self.announced()
        let period = try #require(s.deadline("civil-pil.announcement"))
        #expect(lastDay(period.dueAt) == "2025-06-05")
        let announcement = s.state!.facts.announcementEventID!
        let suit: JSONValue = ["court": "zz-court", "complaintNumber": "x", "announcementEventId": .string(announcement)]
        s.refuse("civil-pil.suit-filed", by: Self.proc, at: "2025-05-20", suit, code: "civil-pil.announcement-running")
        s.refuse("civil-pil.announcement-ended", by: Self.proc, at: "2025-06-05", ["qualifiedPlaintiffSued": false], code: "civil-pil.announcement-running")
        s.accept("civil-pil.announcement-ended", by: Self.proc, at: "2025-06-06", ["qualifiedPlaintiffSued": false])
        s.refuse("civil-pil.suit-filed", by: Self.proc, at: "2025-06-07",
                 ["court": "tianyuan-court", "complaintNumber": "x", "announcementEventId": .string(announcement)], code: "suit.wrong-court")
        s.accept("civil-pil.suit-filed", by: Self.proc, at: "2025-06-07", suit)
        s.accept("litigation.accepted", by: "zz-court", at: "2025-06-10", ["caseNumber": "（2025）湘02民初5号", "acceptedOn": "2025-06-10", "causeOfAction": "环境污染民事公益诉讼"])
        #expect(s.status == "in-court")
    }

    @Test func criminalIncidentalSuitIsHeardWithTheCriminalCase() {
        var s = Self.announced(criminalIncidental: true)
        s.accept("civil-pil.announcement-ended", by: Self.proc, at: "2025-06-06", ["qualifiedPlaintiffSued": false])
        s.accept("civil-pil.suit-filed", by: Self.proc, at: "2025-06-07",
                 ["court": "tianyuan-court", "complaintNumber": "x", "announcementEventId": .string(s.state!.facts.announcementEventID!)])
    }

    @Test func aQualifiedPlaintiffMakesTheProcuratorateSupporting() {
        var s = Self.announced()
        s.accept("civil-pil.announcement-ended", by: Self.proc, at: "2025-06-06", ["qualifiedPlaintiffSued": true, "plaintiff": "湖南省环保联合会"])
        s.refuse("civil-pil.suit-filed", by: Self.proc, at: "2025-06-07",
                 ["court": "zz-court", "complaintNumber": "x", "announcementEventId": .string(s.state!.facts.announcementEventID!)], code: "transition.not-allowed")
        s.accept("civil-pil.support-prosecution", by: Self.proc, at: "2025-06-07", ["plaintiff": "湖南省环保联合会", "court": "zz-court"])
        #expect(s.status == "supporting")
    }
}

struct CrimeTransferTests {
    static let bureau: AgencyID = "zz-epb-enforcement"

    static func transferred() -> Scenario {
        var s = Scenario()
        s.accept("crime.case-reported", by: bureau, at: "2025-03-03T09:00:00+08:00", ["summary": "渗坑排放"])
        s.accept("crime.transfer-decided", by: bureau, at: "2025-03-05T15:00:00+08:00", ["decision": "transfer"])
        s.accept("crime.transferred", by: bureau, at: "2025-03-06T10:00:00+08:00", [
            "police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "株环移〔2025〕2号",
            "materials": [["kind": "transfer-letter", "attachment": ["name": "a.pdf", "sha256": .string(String(repeating: "a", count: 64)), "size": 1]]],
        ])
        return s
    }

    @Test func transferWithin24HoursAndPoliceDecideWithin3Days() throws {
        var s = Self.transferred()
        let decision = try #require(s.deadline("crime.head-decision"))
        #expect(lastDay(decision.dueAt) == "2025-03-06" && decision.state == .met)
        let transfer = try #require(s.deadline("crime.transfer"))
        #expect(transfer.dueAt == Scenario.instant("2025-03-06T15:00:00+08:00"))
        #expect(transfer.state == .met && !transfer.metLate)
        #expect(s.state?.parties[.police] == "zz-psb")
        s.refuse("crime.receipt-signed", by: Self.bureau, at: "2025-03-06T11:00:00+08:00", code: "sender.not-allowed")
        let receipt = s.accept("crime.receipt-signed", by: "zz-psb", at: "2025-03-06T11:00:00+08:00", ["receiptNumber": "株公回〔2025〕8号"])
        // The transfer notifies both the police and the procuratorate (the copy).
        #expect(Set(receipt?.recipients ?? []) == [Self.bureau, "zz-procuratorate"])
        #expect(s.deadline("crime.police-filing-decision").map { lastDay($0.dueAt) } == "2025-03-10") // 9 March is a Sunday
        s.accept("crime.filing-period-extended", by: "zz-psb", at: "2025-03-07", ["extension": "major-complex-30-days"])
        #expect(s.deadline("crime.police-filing-decision-major").map { lastDay($0.dueAt) } == "2025-04-07") // 5 April: 清明 holiday
        s.accept("crime.filing-decided", by: "zz-psb", at: "2025-03-20", ["decision": "filed", "policeNumber": "株公环立字〔2025〕5号"])
        s.accept("crime.exhibits-handed-over", by: Self.bureau, at: "2025-03-21", ["items": ["废液样品 3 桶"]])
        #expect(s.state?.isClosed == true)
    }

    @Test func refusalToFileLeadsThroughReconsiderationToSupervision() {
        var s = Self.transferred()
        s.accept("crime.receipt-signed", by: "zz-psb", at: "2025-03-06T11:00:00+08:00")
        s.refuse("crime.filing-decided", by: "zz-psb", at: "2025-03-07", ["decision": "not-filed"], code: "reasons.required")
        s.accept("crime.filing-decided", by: "zz-psb", at: "2025-03-07", ["decision": "not-filed", "reasons": ["无犯罪事实"]])
        s.accept("crime.reconsideration-requested", by: Self.bureau, at: "2025-03-09", ["reasons": ["超标三倍"]])
        s.accept("crime.reconsideration-answered", by: "zz-psb", at: "2025-03-11", ["decision": "maintained", "reasons": ["证据不足"]])
        s.refuse("crime.explanation-requested", by: "zz-procuratorate", at: "2025-03-12", code: "transition.not-allowed")
        s.accept("crime.supervision-requested", by: Self.bureau, at: "2025-03-12", ["procuratorate": "zz-procuratorate", "reasons": ["应当立案"]])
        s.refuse("crime.explanation-requested", by: "tianyuan-procuratorate", at: "2025-03-13", code: "case.unknown")
        s.accept("crime.explanation-requested", by: "zz-procuratorate", at: "2025-03-13")
        #expect(s.deadline("crime.police-explanation").map { lastDay($0.dueAt) } == "2025-03-20")
        s.accept("crime.explanation-given", by: "zz-psb", at: "2025-03-18", ["reasons": ["已整改"]])
        s.accept("crime.filing-notice-issued", by: "zz-procuratorate", at: "2025-03-25", ["documentNumber": "株检通立〔2025〕2号"])
        s.refuse("crime.filing-decided", by: "zz-psb", at: "2025-03-26", ["decision": "not-filed", "reasons": ["x"]], code: "transition.not-allowed")
        s.accept("crime.filing-decided", by: "zz-psb", at: "2025-04-01", ["decision": "filed"])
        #expect(s.deadline("crime.police-filing-after-notice")?.state == .met)
    }

    /// 立案监督: asked to explain why they did not file, the police may file
    /// instead; filing answers the request, and its clock stops as met.
    @Test func askedToExplainThePoliceMayFileInstead() {
        var s = Self.transferred()
        s.accept("crime.receipt-signed", by: "zz-psb", at: "2025-03-06T11:00:00+08:00")
        s.accept("crime.filing-decided", by: "zz-psb", at: "2025-03-07", ["decision": "not-filed", "reasons": ["无犯罪事实"]])
        s.accept("crime.supervision-requested", by: Self.bureau, at: "2025-03-08", ["procuratorate": "zz-procuratorate", "reasons": ["应当立案"]])
        s.accept("crime.explanation-requested", by: "zz-procuratorate", at: "2025-03-10")
        #expect(s.deadline("crime.police-explanation")?.state == .running)
        s.refuse("crime.filing-decided", by: "zz-psb", at: "2025-03-12", ["decision": "not-filed", "reasons": ["x"]], code: "transition.not-allowed")
        s.accept("crime.filing-decided", by: "zz-psb", at: "2025-03-12", ["decision": "filed", "policeNumber": "株公环立字〔2025〕9号"])
        #expect(s.status == "filed")
        #expect(s.deadline("crime.police-explanation")?.state == .met)
        #expect(s.deadline("crime.exhibits-handover")?.state == .running)
    }

    @Test func reconsiderationOnlyWithinThreeDays() {
        var s = Self.transferred()
        s.accept("crime.receipt-signed", by: "zz-psb", at: "2025-03-06T11:00:00+08:00")
        s.accept("crime.filing-decided", by: "zz-psb", at: "2025-03-07", ["decision": "not-filed", "reasons": ["无犯罪事实"]])
        s.refuse("crime.reconsideration-requested", by: Self.bureau, at: "2025-03-12", ["reasons": ["x"]], code: "deadline.passed")
    }

    @Test func onlyEnforcementBodiesTransferAndOnlyToPolice() {
        var s = Scenario()
        s.refuse("crime.case-reported", by: "zz-procuratorate", at: "2025-03-03", ["summary": "x"], code: "sender.not-allowed")
        s.accept("crime.case-reported", by: Self.bureau, at: "2025-03-03", ["summary": "x"])
        s.refuse("crime.transfer-decided", by: Self.bureau, at: "2025-03-04", ["decision": "not-transfer"], code: "reasons.required")
        s.accept("crime.transfer-decided", by: Self.bureau, at: "2025-03-04", ["decision": "transfer"])
        let attachment: JSONValue = ["name": "a.pdf", "sha256": .string(String(repeating: "a", count: 64)), "size": 1]
        s.refuse("crime.transferred", by: Self.bureau, at: "2025-03-04T12:00:00+08:00", [
            "police": "zz-cdi", "procuratorate": "zz-procuratorate", "transferNumber": "x", "materials": [["kind": "other", "attachment": attachment]],
        ], code: "agency.wrong-kind")
    }

    @Test func aProcuratorialOpinionObligesTransferWithinThreeDays() {
        var s = Scenario()
        s.accept("crime.case-reported", by: Self.bureau, at: "2025-03-03", ["summary": "x"])
        s.accept("crime.transfer-decided", by: Self.bureau, at: "2025-03-04", ["decision": "not-transfer", "reasons": ["未达标准"]])
        s.accept("crime.procuratorial-opinion-issued", by: "zz-procuratorate", at: "2025-03-20", ["documentNumber": "株检意〔2025〕4号"])
        #expect(s.deadline("crime.transfer-after-opinion").map { lastDay($0.dueAt) } == "2025-03-24") // 23 March is a Sunday
    }
}

struct AccountabilityTests {
    @Test func verificationComesBeforeReviewAndFeedbackReachesTheReferrer() {
        var s = Scenario()
        s.accept("accountability.clue-referred", by: "tianyuan-procuratorate", at: "2025-03-03", [
            "commission": "tianyuan-cdi", "summary": "监管不力", "officials": [["position": "某分局局长"]]])
        #expect(s.deadline("accountability.disposal").map { lastDay($0.dueAt) } == "2025-04-03")
        s.refuse("accountability.review-filed", by: "tianyuan-cdi", at: "2025-03-10", ["documentNumber": "x"], code: "accountability.no-verification")
        s.refuse("accountability.disposal-chosen", by: "tianyuan-procuratorate", at: "2025-03-10", ["disposal": "shelved"], code: "sender.not-allowed")
        s.accept("accountability.disposal-chosen", by: "tianyuan-cdi", at: "2025-03-10", ["disposal": "preliminary-verification"])
        s.accept("accountability.verification-concluded", by: "tianyuan-cdi", at: "2025-04-10", ["finding": "substantiated"])
        s.accept("accountability.review-filed", by: "tianyuan-cdi", at: "2025-04-15", ["documentNumber": "株纪立〔2025〕9号"])
        s.accept("accountability.sanction-decided", by: "tianyuan-cdi", at: "2025-06-01", ["measures": ["major-demerit"]])
        #expect(s.state?.isClosed == true)
        s.refuse("accountability.feedback-sent", by: "tianyuan-cdi", at: "2025-06-02", ["referrer": "zz-epb", "summary": "x"], code: "feedback.wrong-referrer")
        s.accept("accountability.feedback-sent", by: "tianyuan-cdi", at: "2025-06-02", ["referrer": "tianyuan-procuratorate", "summary": "已处分"])
        #expect(s.deadline("accountability.feedback")?.state == .met)
    }

    @Test func letterInquiryReplyIsCountedInWorkingDays() throws {
        var s = Scenario()
        s.accept("accountability.clue-referred", by: "zz-epb", at: "2024-09-20", ["commission": "zz-cdi", "summary": "x", "officials": [["position": "y"]]])
        s.accept("accountability.disposal-chosen", by: "zz-cdi", at: "2024-09-26", ["disposal": "talk-or-letter-inquiry"])
        // Working days after 26 Sep 2024: 27, 29 (adjusted), 30 Sep (3); 8–12 Oct, 12 adjusted (8);
        // 14–18 Oct (13); 21, 22 Oct (15). National Day (1–7 Oct) and 13, 19, 20 Oct do not count.
        let reply = try #require(s.deadline("accountability.inquiry-reply"))
        #expect(lastDay(reply.dueAt) == "2024-10-22")
    }
}

struct DamageCompensationTests {
    @Test func atMostThreeRoundsThenSuitAtTheIntermediateCourt() {
        var s = Scenario()
        s.accept("compensation.assessment-completed", by: "zz-epb", at: "2025-03-01", ["reportNumber": "x", "damageAmount": 1862000.5])
        s.accept("compensation.consultation-started", by: "zz-epb", at: "2025-03-10", ["responsibleParty": "某公司"])
        s.refuse("compensation.consultation-round-held", by: "zz-epb", at: "2025-03-20", ["round": 2, "heldOn": "2025-03-20"], code: "consultation.round-order")
        for round in 1...3 {
            s.accept("compensation.consultation-round-held", by: "zz-epb", at: "2025-04-0\(round)", ["round": .integer(Int64(round)), "heldOn": .string("2025-04-0\(round)")])
        }
        s.refuse("compensation.consultation-round-held", by: "zz-epb", at: "2025-04-05", ["round": 4, "heldOn": "2025-04-05"], code: "consultation.rounds-exceeded")
        s.accept("compensation.consultation-failed", by: "zz-epb", at: "2025-04-06", ["reasons": ["拒绝赔偿"]])
        let failed = s.lastEventID!
        s.refuse("compensation.suit-filed", by: "zz-epb", at: "2025-04-10", ["court": "tianyuan-court", "consultationFailedEventId": .string(failed)], code: "suit.wrong-court")
        s.accept("compensation.suit-filed", by: "zz-epb", at: "2025-04-10", ["court": "zz-court", "consultationFailedEventId": .string(failed)])
    }
}

struct ReferralTests {
    @Test func submittedReceivedAcceptedConcluded() throws {
        var s = Scenario()
        let submitted = s.accept("referral.submitted", by: "zz-epb", at: "2025-03-01", ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "x"])
        #expect(submitted?.recipients == ["zz-procuratorate"])
        s.refuse("referral.accepted", by: "zz-court", at: "2025-03-02", ["receiverNumber": "x", "acceptedOn": "2025-03-02"], code: "case.unknown")
        s.accept("referral.received", by: "zz-procuratorate", at: "2025-03-02", ["referralEventId": .string(s.accepted[0].0.id)])
        s.accept("referral.accepted", by: "zz-procuratorate", at: "2025-03-03", ["receiverNumber": "株检受〔2025〕12号", "acceptedOn": "2025-03-03"])
        #expect(s.state?.numbers["zz-procuratorate"] == "株检受〔2025〕12号")
        s.accept("referral.supplement-requested", by: "zz-procuratorate", at: "2025-03-04", ["items": ["照片"]])
        s.accept("referral.supplement-provided", by: "zz-epb", at: "2025-03-05", ["attachments": [["name": "a.jpg", "sha256": .string(String(repeating: "b", count: 64)), "size": 9]]])
        #expect(s.status == "accepted")
        s.accept("referral.concluded", by: "zz-procuratorate", at: "2025-03-20", ["outcome": "已立案"])
        #expect(s.state?.isClosed == true)
    }

    @Test func aReturnedReferralCanBeSubmittedAgain() {
        var s = Scenario()
        s.accept("referral.submitted", by: "zz-epb", at: "2025-03-01", ["receiver": "zz-psb", "referralKind": "case-file", "summary": "x"])
        s.accept("referral.returned", by: "zz-psb", at: "2025-03-02", ["reasons": ["材料不全"], "returnedItems": [["name": "案件移送书", "copies": 1]]])
        s.refuse("referral.submitted", by: "zz-epb", at: "2025-03-03", ["receiver": "zz-epb", "referralKind": "case-file", "summary": "x"], code: "referral.to-self")
        s.accept("referral.submitted", by: "zz-epb", at: "2025-03-03", ["receiver": "zz-procuratorate", "referralKind": "case-file", "summary": "x"])
        #expect(s.status == "submitted")
        #expect(s.state?.parties[.addressee] == "zz-procuratorate")
    }
}

struct CaseMachineRuleTests {
    /// Both documented ways of opening a case lead on: `case.opened` for a
    /// procedure, then that procedure's first event, is the same case as the
    /// first event alone.
    @Test(arguments: ProcedureOpening.all)
    func aCaseOpenedExplicitlyTakesItsProceduresFirstEvent(_ opening: ProcedureOpening) {
        let (sender, first, data) = (opening.sender, opening.first, opening.data)
        var opened = Scenario()
        opened.accept("case.opened", by: sender, at: "2025-03-01", ["procedure": .string(opening.procedure), "title": "某案"])
        opened.accept(first, by: sender, at: "2025-03-02", data)
        var direct = Scenario()
        direct.accept(first, by: sender, at: "2025-03-02", data)
        #expect(opened.status == direct.status && opened.status != "opened")
        #expect(opened.state?.deadlines.keys.sorted() == direct.state?.deadlines.keys.sorted())
        // Once past its opening, the first event is out of turn, not a second case.
        opened.refuse(first, by: sender, at: "2025-03-03", data, code: "transition.not-allowed")
    }

    @Test func eventsForAMissingCaseAreRefusedUnlessTheyOpenIt() {
        var s = Scenario()
        s.refuse("pil.filed", by: "zz-procuratorate", at: "2025-03-01", ["documentNumber": "x", "agency": "zz-epb"], code: "case.unknown")
        s.accept("case.opened", by: "zz-procuratorate", at: "2025-03-01", ["procedure": "administrative-pil", "title": "某案", "number": "株检行公立〔2025〕1号"])
        #expect(s.status == "opened")
        #expect(s.state?.numbers["zz-procuratorate"] == "株检行公立〔2025〕1号")
        s.accept("pil.filed", by: "zz-procuratorate", at: "2025-03-02", ["documentNumber": "x", "agency": "zz-epb"])
        s.refuse("case.opened", by: "zz-procuratorate", at: "2025-03-02", ["procedure": "administrative-pil", "title": "x"], code: "case.exists")
        s.refuse("crime.case-reported", by: "zz-procuratorate", at: "2025-03-02", ["summary": "x"], code: "case.exists")
        s.refuse("referral.received", by: "zz-epb", at: "2025-03-02", ["referralEventId": .string(UUID().uuidString)], code: "procedure.mismatch")
        s.refuse("litigation.accepted", by: "zz-court", at: "2025-03-02", ["caseNumber": "x", "acceptedOn": "2025-03-02", "causeOfAction": "y"], code: "case.unknown")
    }

    @Test func hubTypesAndFutureTimesAreRefused() {
        var s = Scenario()
        s.refuse("hub.deadline-overdue", by: "zz-epb", at: "2025-03-01", [:], code: "type.reserved")
        let machine = CaseMachine(registry: .zhuzhou)
        let now = Date()
        let event = CloudEvent(source: "zz-epb", type: "casehub.referral.submitted.v1",
                               time: now.addingTimeInterval(3600), subject: "c1",
                               data: ["receiver": "zz-psb", "referralKind": "clue", "summary": "x"])
        guard case .failure(let refusal) = machine.apply(event, by: AgencyRegistry.zhuzhou["zz-epb"]!, at: now, to: nil) else {
            Issue.record("a future event was accepted")
            return
        }
        #expect(refusal.code == "time.in-future")
    }

    @Test func linkingRecordsBothDirectionsForParties() {
        var s = Scenario()
        s.accept("crime.case-reported", by: "zz-epb-enforcement", at: "2025-03-01", ["summary": "x"])
        s.refuse("case.linked", by: "zz-court", at: "2025-03-02", ["linkedCaseId": "pil-7", "relation": "spawned"], code: "case.unknown")
        let linked = s.accept("case.linked", by: "zz-epb-enforcement", at: "2025-03-02", ["linkedCaseId": "pil-7", "relation": "spawned"])
        #expect(linked?.effects.contains(.link(caseID: "pil-7", relation: "spawned-from")) == true)
        #expect(s.state?.links == [CaseLink(caseID: "pil-7", relation: "spawned")])
    }
}
