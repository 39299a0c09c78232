import CaseModel
import Foundation
import TestSupport
import Testing

struct AdministrativePILTests {
    static let proc: AgencyID = "tianyuan-procuratorate"
    static let bureau: AgencyID = "zz-epb-tianyuan"

    /// Clue → filing → recommendation → receipt → reply → follow-up → suit.
    static func throughFollowUp(urgent: Bool = false, failing: Bool = true) -> Scenario {
        var s = Scenario()
        s.accept("pil.clue-registered", by: proc, at: "2025-02-10", ["clueSource": "referral", "summary": "排污"])
        s.accept("pil.filed", by: proc, at: "2025-02-20", ["documentNumber": "株天检行公立〔2025〕5号", "agency": .string(bureau.rawValue)])
        s.accept("pil.filing-notice-served", by: proc, at: "2025-02-24", ["servedAt": "2025-02-24T10:00:00+08:00"])
        s.accept("pil.recommendation-issued", by: proc, at: "2025-03-10", [
            "documentNumber": "株天检行公建〔2025〕7号", "agency": .string(bureau.rawValue), "urgent": .bool(urgent), "recommendations": ["依法履职"],
        ])
        s.accept("pil.recommendation-received", by: bureau, at: "2025-03-12", ["receivedAt": "2025-03-12T10:00:00+08:00"])
        s.accept("pil.reply-submitted", by: bureau, at: "2025-04-15", ["rectified": false, "measures": ["已约谈企业"]])
        s.accept("pil.follow-up-recorded", by: proc, at: "2025-04-20", [
            "agencyStillFailing": .bool(failing), "harmContinuing": true, "findings": "仍在排放",
        ])
        return s
    }

    func suitData(_ s: Scenario, court: String = "tianyuan-court") -> JSONValue {
        let recommendation = s.state!.facts.recommendationEventID!
        let followUp = s.state!.facts.followUpEventID!
        return ["court": .string(court), "complaintNumber": "株天检行公诉〔2025〕1号",
                "proofs": ["recommendationEventId": .string(recommendation), "followUpEventId": .string(followUp)]]
    }

    @Test func legalPathFromClueToEnforcement() throws {
        var s = Self.throughFollowUp()
        #expect(s.status == "follow-up")
        // The reply clock started at the agency's receipt (12 March), not at issue (10 March).
        let reply = try #require(s.deadline("pil.reply"))
        #expect(lastDay(reply.dueAt) == "2025-05-12")
        #expect(reply.state == .met)
        #expect(s.deadline("pil.recommendation-record")?.state == .running)
        #expect(s.state?.parties[.addressee] == Self.bureau)

        s.accept("pil.suit-filed", by: Self.proc, at: "2025-05-20", suitData(s))
        #expect(s.status == "suit-filed")
        s.accept("litigation.accepted", by: "tianyuan-court", at: "2025-05-27", ["caseNumber": "（2025）湘0211行初12号", "acceptedOn": "2025-05-27", "causeOfAction": "行政公益诉讼"])
        #expect(s.deadline("litigation.first-instance").map { lastDay($0.dueAt) } == "2025-11-27")
        s.accept("litigation.hearing-scheduled", by: "tianyuan-court", at: "2025-06-10", ["hearingAt": "2025-07-15T09:00:00+08:00"])
        s.accept("litigation.judgment-issued", by: "tianyuan-court", at: "2025-09-02", [
            "instance": "first", "form": "judgment", "documentNumber": "（2025）湘0211行初12号", "outcome": "责令履职", "servedOn": "2025-09-02"])
        s.accept("litigation.appeal-filed", by: Self.bureau, at: "2025-09-10", ["appellant": "天元分局", "appealCourt": "zz-court"])
        s.accept("litigation.judgment-issued", by: "zz-court", at: "2025-11-20", [
            "instance": "second", "form": "judgment", "documentNumber": "（2025）湘02行终23号", "outcome": "驳回上诉", "servedOn": "2025-11-20"])
        s.accept("litigation.final", by: "zz-court", at: "2025-11-21", ["effectiveOn": "2025-11-20"])
        s.accept("litigation.enforcement-transferred", by: "tianyuan-court", at: "2025-12-01", ["enforcementNumber": "（2025）湘0211执345号"])
        #expect(s.status == "enforcement")
        #expect(s.state?.isClosed == true)
        #expect(s.state?.numbers["tianyuan-court"] == "（2025）湘0211执345号")
        s.refuse("litigation.final", by: "zz-court", at: "2025-12-02", ["effectiveOn": "2025-12-02"], code: "case.closed")
    }

    @Test func urgentRecommendationGivesFifteenDays() throws {
        let s = Self.throughFollowUp(urgent: true)
        let reply = try #require(s.deadline("pil.reply-urgent"))
        // 12 March + 15 days = 27 March 2025, a Thursday.
        #expect(lastDay(reply.dueAt) == "2025-03-27")
        #expect(reply.state == .met)
        #expect(reply.metLate)  // the reply came on 15 April
    }

    @Test func noReplyBeforeARecommendation() {
        var s = Scenario()
        s.accept("pil.clue-registered", by: Self.proc, at: "2025-02-10", ["clueSource": "referral", "summary": "排污"])
        s.accept("pil.filed", by: Self.proc, at: "2025-02-20", ["documentNumber": "x", "agency": .string(Self.bureau.rawValue)])
        s.refuse("pil.reply-submitted", by: Self.bureau, at: "2025-03-01", ["rectified": true, "measures": ["x"]], code: "transition.not-allowed")
    }

    @Test func onlyTheHoldingProcuratorateIssuesAndOnlyTheAddresseeReplies() {
        var s = Scenario()
        s.refuse("pil.clue-registered", by: Self.bureau, at: "2025-02-10", ["clueSource": "referral", "summary": "x"], code: "sender.not-allowed")
        s.accept("pil.clue-registered", by: Self.proc, at: "2025-02-10", ["clueSource": "referral", "summary": "排污"])
        s.refuse("pil.filed", by: "lusong-procuratorate", at: "2025-02-20", ["documentNumber": "x", "agency": "zz-epb-tianyuan"], code: "case.unknown")
        s.refuse("pil.filed", by: Self.proc, at: "2025-02-20", ["documentNumber": "x", "agency": "zz-court"], code: "agency.wrong-kind")
        s.refuse("pil.filed", by: Self.proc, at: "2025-02-20", ["documentNumber": "x", "agency": "zz-nowhere"], code: "agency.unknown")
        s.accept("pil.filed", by: Self.proc, at: "2025-02-20", ["documentNumber": "x", "agency": .string(Self.bureau.rawValue)])
        let recommendation: JSONValue = ["documentNumber": "y", "agency": .string(Self.bureau.rawValue), "urgent": false, "recommendations": ["z"]]
        s.refuse("pil.recommendation-issued", by: "tianyuan-court", at: "2025-03-10", recommendation, code: "case.unknown")
        s.refuse("pil.recommendation-issued", by: Self.proc, at: "2025-03-10",
                 ["documentNumber": "y", "agency": "zz-epb-lusong", "urgent": false, "recommendations": ["z"]], code: "recommendation.wrong-agency")
        s.accept("pil.recommendation-issued", by: Self.proc, at: "2025-03-10", recommendation)
        s.accept("pil.recommendation-received", by: Self.bureau, at: "2025-03-12", ["receivedAt": "2025-03-12T10:00:00+08:00"])
        s.refuse("pil.reply-submitted", by: "zz-epb-lusong", at: "2025-03-20", ["rectified": true, "measures": ["x"]], code: "case.unknown")
    }

    @Test func noSuitBeforeTheReplyPeriodHasRun() {
        var s = Self.throughFollowUp()
        s.refuse("pil.suit-filed", by: Self.proc, at: "2025-05-12", suitData(s), code: "pil.reply-period-running")
        s.accept("pil.suit-filed", by: Self.proc, at: "2025-05-13", suitData(s))
    }

    @Test func noSuitWithoutContinuingFailureOrWithWrongProofsOrCourt() {
        var s = Self.throughFollowUp(failing: false)
        s.refuse("pil.suit-filed", by: Self.proc, at: "2025-06-01", suitData(s), code: "pil.no-continuing-failure")
        var t = Self.throughFollowUp()
        var forged = suitData(t)
        if case .object(var object) = forged, case .object(var proofs)? = object["proofs"] {
            proofs["followUpEventId"] = .string(UUID().uuidString)
            object["proofs"] = .object(proofs)
            forged = .object(object)
        }
        t.refuse("pil.suit-filed", by: Self.proc, at: "2025-06-01", forged, code: "proof.mismatch")
        t.refuse("pil.suit-filed", by: Self.proc, at: "2025-06-01", suitData(t, court: "lusong-court"), code: "suit.wrong-court")
        t.refuse("pil.suit-filed", by: Self.proc, at: "2025-06-01", suitData(t, court: "zz-epb"), code: "agency.wrong-kind")
    }

    @Test func followUpWaitsForTheReplyOrTheEndOfThePeriod() {
        var s = Scenario()
        s.accept("pil.clue-registered", by: Self.proc, at: "2025-02-10", ["clueSource": "referral", "summary": "排污"])
        s.accept("pil.filed", by: Self.proc, at: "2025-02-20", ["documentNumber": "x", "agency": .string(Self.bureau.rawValue)])
        s.accept("pil.recommendation-issued", by: Self.proc, at: "2025-03-10",
                 ["documentNumber": "y", "agency": .string(Self.bureau.rawValue), "urgent": false, "recommendations": ["z"]])
        s.accept("pil.recommendation-received", by: Self.bureau, at: "2025-03-12", ["receivedAt": "2025-03-12T10:00:00+08:00"])
        let followUp: JSONValue = ["agencyStillFailing": true, "harmContinuing": true, "findings": "未回复"]
        s.refuse("pil.follow-up-recorded", by: Self.proc, at: "2025-04-01", followUp, code: "pil.reply-period-running")
        // No reply at all: after the period, follow-up and suit are open.
        s.accept("pil.follow-up-recorded", by: Self.proc, at: "2025-05-14", followUp)
        #expect(s.deadline("pil.reply")?.stage(at: Scenario.instant("2025-05-14T10:00:00+08:00")) == .overdue)
    }

    @Test func terminationStopsRunningClocks() {
        var s = Scenario()
        s.accept("pil.clue-registered", by: Self.proc, at: "2025-02-10", ["clueSource": "referral", "summary": "排污"])
        s.accept("pil.filed", by: Self.proc, at: "2025-02-20", ["documentNumber": "x", "agency": .string(Self.bureau.rawValue)])
        let transition = s.accept("pil.terminated", by: Self.proc, at: "2025-02-21", ["reasons": ["已整改"]])
        #expect(transition?.effects.contains(.deadlineStopped(id: "pil.filing-notice")) == true)
        #expect(s.deadline("pil.filing-notice")?.state == .stopped)
    }

    @Test func appealOnlyWithinTheAppealPeriodAndToTheCourtAbove() {
        var s = Self.throughFollowUp()
        s.accept("pil.suit-filed", by: Self.proc, at: "2025-05-20", suitData(s))
        s.accept("litigation.accepted", by: "tianyuan-court", at: "2025-05-27", ["caseNumber": "x", "acceptedOn": "2025-05-27", "causeOfAction": "y"])
        s.accept("litigation.judgment-issued", by: "tianyuan-court", at: "2025-09-02", [
            "instance": "first", "form": "ruling", "documentNumber": "x", "outcome": "y", "servedOn": "2025-09-02"])
        s.refuse("litigation.final", by: "tianyuan-court", at: "2025-09-05", ["effectiveOn": "2025-09-05"], code: "appeal.period-running")
        s.refuse("litigation.appeal-filed", by: Self.bureau, at: "2025-09-05", ["appellant": "x", "appealCourt": "lusong-court"], code: "appeal.wrong-court")
        // A ruling: 10 days from service, to 12 September.
        s.refuse("litigation.appeal-filed", by: Self.bureau, at: "2025-09-13", ["appellant": "x", "appealCourt": "zz-court"], code: "deadline.passed")
        s.accept("litigation.final", by: "tianyuan-court", at: "2025-09-13", ["effectiveOn": "2025-09-13"])
    }
}
