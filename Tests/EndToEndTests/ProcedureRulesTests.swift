import CaseHubServer
import CaseModel
import Foundation
import Hub
import HubStore
import TestSupport
import Testing

/// Procedure rules walked through the agencies' adapters of a running
/// stack, each agency sending as its system would and waiting for the hub's
/// receipt before the next step.
@Suite struct ProcedureRulesTests {
    let openings = ProcedureOpeningTests()

    /// Posts an event and waits for the hub's receipt to its sender; returns the outcome.
    func step(_ http: HTTPClient, _ type: String, by agency: String, case caseID: String, at time: String,
              _ data: JSONValue = [:]) async throws -> String? {
        let id = try await openings.post(http, AdminAPITests.event(type, by: agency, case: caseID, at: time, data), as: agency)
        return try await openings.outcomes(http, agency, for: [id])[id]
    }

    /// A crime transfer by zz-epb on 1 July 2026: reported at 9:00, decided at
    /// 10:00, transferred to `police` (copy to `procuratorate`) at 11:00,
    /// numbered `number`. Returns its id.
    func transferredToPolice(_ http: HTTPClient, _ name: String, police: String, procuratorate: String, number: Int) async throws -> String {
        let caseID = TestEnvironment.caseID(name, openedBy: "zz-epb")
        let attachment: JSONValue = ["name": "移送书.pdf", "sha256": .string(String(repeating: "d", count: 64)), "size": 1, "mediaType": "application/pdf"]
        #expect(try await step(http, "crime.case-reported", by: "zz-epb", case: caseID, at: "2026-07-01T09:00:00+08:00", ["summary": "渗坑排放"]) == "accepted")
        #expect(try await step(http, "crime.transfer-decided", by: "zz-epb", case: caseID, at: "2026-07-01T10:00:00+08:00",
                               ["decision": "transfer", "decidedBy": "局长"]) == "accepted")
        #expect(try await step(http, "crime.transferred", by: "zz-epb", case: caseID, at: "2026-07-01T11:00:00+08:00", [
            "police": .string(police), "procuratorate": .string(procuratorate), "transferNumber": .string("株环移〔2026〕\(number)号"),
            "materials": [["kind": "transfer-letter", "attachment": attachment]],
        ]) == "accepted")
        return caseID
    }

    /// A civil PIL by zz-procuratorate, taken to court: clue on 5 January 2026,
    /// filed, announced on 7 January, sued on 20 February and accepted by
    /// zz-court on 21 February; its documents numbered `number`. Returns its id.
    func civilPILInCourt(_ http: HTTPClient, _ name: String, number: Int) async throws -> String {
        let caseID = TestEnvironment.caseID(name, openedBy: "zz-procuratorate")
        #expect(try await step(http, "civil-pil.clue-registered", by: "zz-procuratorate", case: caseID, at: "2026-01-05T09:00:00+08:00",
                               ["clueSource": "own-discovery", "summary": "非法倾倒危险废物"]) == "accepted")
        #expect(try await step(http, "civil-pil.filed", by: "zz-procuratorate", case: caseID, at: "2026-01-06T09:00:00+08:00",
                               ["documentNumber": .string("株检民公立〔2026〕\(number)号")]) == "accepted")
        let announcement = AdminAPITests.event("civil-pil.announcement-published", by: "zz-procuratorate", case: caseID, at: "2026-01-07T09:00:00+08:00",
                                               ["documentNumber": .string("株检民公告〔2026〕\(number)号"), "publishedOn": "2026-01-07", "channel": "正义网"])
        let announcementID = try await openings.post(http, announcement, as: "zz-procuratorate")
        #expect(try await openings.outcomes(http, "zz-procuratorate", for: [announcementID])[announcementID] == "accepted")
        #expect(try await step(http, "civil-pil.suit-filed", by: "zz-procuratorate", case: caseID, at: "2026-02-20T09:00:00+08:00", [
            "court": "zz-court", "complaintNumber": .string("株检民公诉〔2026〕\(number)号"), "announcementEventId": .string(announcementID),
        ]) == "accepted")
        #expect(try await step(http, "litigation.accepted", by: "zz-court", case: caseID, at: "2026-02-21T09:00:00+08:00",
                               ["caseNumber": .string("（2026）湘02民初\(number)号"), "acceptedOn": "2026-02-21", "causeOfAction": "环境污染民事公益诉讼"]) == "accepted")
        return caseID
    }

    /// 立案监督: asked by the procuratorate to explain why they did not file,
    /// the police file instead; the request's clock stops as met.
    @Test func askedToExplainThePoliceMayFileInstead() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"], arrivals: .atDeclaredTimes) { _, http, database in
            let caseID = try await transferredToPolice(http, "supervised", police: "zz-psb", procuratorate: "zz-procuratorate", number: 2)
            #expect(try await step(http, "crime.receipt-signed", by: "zz-psb", case: caseID, at: "2026-07-01T12:00:00+08:00") == "accepted")
            #expect(try await step(http, "crime.filing-decided", by: "zz-psb", case: caseID, at: "2026-07-02T09:00:00+08:00",
                                   ["decision": "not-filed", "reasons": ["证据不足"]]) == "accepted")
            #expect(try await step(http, "crime.supervision-requested", by: "zz-epb", case: caseID, at: "2026-07-02T10:00:00+08:00",
                                   ["procuratorate": "zz-procuratorate", "reasons": ["应当立案而不立案"]]) == "accepted")
            #expect(try await step(http, "crime.explanation-requested", by: "zz-procuratorate", case: caseID, at: "2026-07-03T09:00:00+08:00",
                                   ["documentNumber": "株检侦监〔2026〕1号"]) == "accepted")
            #expect(try await step(http, "crime.filing-decided", by: "zz-psb", case: caseID, at: "2026-07-04T09:00:00+08:00",
                                   ["decision": "not-filed", "reasons": ["x"]]) == "refused transition.not-allowed")
            #expect(try await step(http, "crime.filing-decided", by: "zz-psb", case: caseID, at: "2026-07-04T09:30:00+08:00",
                                   ["decision": "filed", "policeNumber": "株公环立字〔2026〕9号"]) == "accepted")

            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test", by: .administrator("test"))
            let (_, record) = try await http.send("GET", "/v1/cases/\(caseID)", nil, bearer: .token(admin))
            #expect(record["status"]?.stringValue == "filed", "\(record)")
            let explanation = record["deadlines"]?.arrayValue?.first { $0["rule"]?.stringValue == "crime.police-explanation" }
            #expect(explanation?["state"]?.stringValue == "met", "\(record["deadlines"] ?? .null)")
        }
    }

    /// A deadline that is overdue the moment it starts gets its overdue
    /// notice at once and once, not whenever the scheduler looks. Clocks
    /// start when the hub records their trigger, so this happens when one is
    /// counted from an earlier start: the police extend their filing review
    /// to seven days (clue check) on 20 July, counted from the transfer's
    /// service on 1 July, so it ran out on 8 July.
    @Test func aDeadlineOverdueWhenItStartsIsNoticedOnceAtOnce() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"], arrivals: .atDeclaredTimes) { _, http, _ in
            let caseID = try await transferredToPolice(http, "extended-late", police: "zz-psb", procuratorate: "zz-procuratorate", number: 9)
            #expect(try await step(http, "crime.receipt-signed", by: "zz-psb", case: caseID, at: "2026-07-01T12:00:00+08:00") == "accepted")
            #expect(try await step(http, "crime.filing-period-extended", by: "zz-psb", case: caseID, at: "2026-07-20T09:00:00+08:00",
                                   ["extension": "clue-check-7-days", "approvedBy": "市公安局负责人"]) == "accepted")
            func overdueNotices() async throws -> Int {
                let (_, body) = try await http.send("GET", "/v1/agencies/zz-psb/inbox?after=0&limit=1000", nil)
                return (body["events"]?.arrayValue ?? []).filter {
                    $0["event"]?["type"] == "casehub.hub.deadline-overdue.v1" && $0["event"]?["subject"]?.stringValue == caseID
                        && $0["event"]?["data"]?["rule"] == "crime.police-filing-decision-clue-check"
                }.count
            }
            #expect(await eventually(timeout: .seconds(30)) { (try? await overdueNotices()) == 1 })
            // Several scheduler rounds later (every 200 ms here), still the one.
            try await Task.sleep(for: .seconds(2))
            #expect(try await overdueNotices() == 1)
        }
    }

    /// A decision the head took after its three days ran out is `met-late`,
    /// in the agency's view, the administrators' API (the same shape in
    /// both) and the metrics; each deadline shows its last day as the law
    /// writes it beside the instant.
    @Test func aLateAnswerIsVisiblyLateWithItsLastDayAsWritten() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"], arrivals: .atDeclaredTimes) { _, http, database in
            let caseID = TestEnvironment.caseID("late", openedBy: "zz-epb")
            // Reported on Wednesday 1 July 2026: three days end on Saturday the 4th, so the last day moves to Monday the 6th.
            #expect(try await step(http, "crime.case-reported", by: "zz-epb", case: caseID, at: "2026-07-01T09:00:00+08:00", ["summary": "渗坑排放"]) == "accepted")
            #expect(try await step(http, "crime.transfer-decided", by: "zz-epb", case: caseID, at: "2026-07-07T10:00:00+08:00",
                                   ["decision": "transfer", "decidedBy": "局长"]) == "accepted")

            let (status, view) = try await http.send("GET", "/v1/agencies/zz-epb/cases/\(caseID)", nil)
            #expect(status == 200, "\(view)")
            func deadline(_ rule: String, in body: JSONValue) -> JSONValue? {
                body["deadlines"]?.arrayValue?.first { $0["rule"]?.stringValue == rule }
            }
            let decision = deadline("crime.head-decision", in: view)
            #expect(decision?["state"] == "met-late" && decision?["stage"] == "met-late", "\(view)")
            #expect(decision?["dueDate"] == "2026-07-06" && decision?["dueAt"] == "2026-07-06T16:00:00+00:00", "\(decision ?? .null)")
            #expect(decision?["nameZH"] == "负责人决定是否移送" && decision?["closedAt"] == "2026-07-07T02:00:00+00:00")
            // An hours period: the last day is the day its instant falls on (China time).
            let transfer = deadline("crime.transfer", in: view)
            #expect(transfer?["state"] == "running" && transfer?["dueDate"] == "2026-07-08", "\(transfer ?? .null)")

            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test", by: .administrator("test"))
            let (_, record) = try await http.send("GET", "/v1/cases/\(caseID)", nil, bearer: .token(admin))
            for rule in ["crime.head-decision", "crime.transfer"] {
                var shown = deadline(rule, in: record)
                var own = deadline(rule, in: view)
                // `stage` of a running deadline is as of each request; the rest is the same record.
                if case .object(var members)? = shown { members["stage"] = nil; shown = .object(members) }
                if case .object(var members)? = own { members["stage"] = nil; own = .object(members) }
                #expect(shown != nil && shown == own, "\(rule): \(shown ?? .null) vs \(own ?? .null)")
            }

            let metrics = try await MetricsTests().scrape(http.port, token: admin)
            #expect(metrics.contains(#"casehub_deadlines_closed_total{outcome="met-late"} 1"#), "\(metrics.split(separator: "\n").filter { $0.contains("deadlines") })")
        }
    }

    /// Court and procuratorate numbers are checked by the hub for every
    /// event that carries one, against its sender: a canonical event is
    /// refused for the same number a native record is.
    @Test func numbersAreCheckedAgainstTheSenderOnEveryPath() async throws {
        try await withRunningStack(agencies: ["zz-procuratorate", "zz-court", "tianyuan-court"], arrivals: .atDeclaredTimes) { _, http, _ in
            let caseID = TestEnvironment.caseID("numbers", openedBy: "zz-procuratorate")
            #expect(try await step(http, "civil-pil.clue-registered", by: "zz-procuratorate", case: caseID, at: "2026-03-02T09:00:00+08:00",
                                   ["clueSource": "own-discovery", "summary": "非法倾倒危险废物"]) == "accepted")
            // An administrative-PIL number (行公) on a civil PIL filing.
            #expect(try await step(http, "civil-pil.filed", by: "zz-procuratorate", case: caseID, at: "2026-03-03T09:00:00+08:00",
                                   ["documentNumber": "株检行公立〔2026〕4号"]) == "refused number.invalid")
            #expect(try await step(http, "civil-pil.filed", by: "zz-procuratorate", case: caseID, at: "2026-03-03T09:30:00+08:00",
                                   ["documentNumber": "株检民公立〔2026〕4号"]) == "accepted")
            // A filing number (立) on an announcement.
            #expect(try await step(http, "civil-pil.announcement-published", by: "zz-procuratorate", case: caseID, at: "2026-03-04T09:00:00+08:00",
                                   ["documentNumber": "株检民公立〔2026〕5号", "publishedOn": "2026-03-04", "channel": "正义网"]) == "refused number.invalid")
            let announcement = AdminAPITests.event("civil-pil.announcement-published", by: "zz-procuratorate", case: caseID, at: "2026-03-04T09:30:00+08:00",
                                                   ["documentNumber": "株检民公告〔2026〕4号", "publishedOn": "2026-03-04", "channel": "正义网"])
            let announcementID = try await openings.post(http, announcement, as: "zz-procuratorate")
            #expect(try await openings.outcomes(http, "zz-procuratorate", for: [announcementID])[announcementID] == "accepted")
            #expect(try await step(http, "civil-pil.announcement-ended", by: "zz-procuratorate", case: caseID, at: "2026-04-10T09:00:00+08:00",
                                   ["qualifiedPlaintiffSued": false]) == "accepted")
            #expect(try await step(http, "civil-pil.suit-filed", by: "zz-procuratorate", case: caseID, at: "2026-04-11T09:00:00+08:00",
                                   ["court": "zz-court", "complaintNumber": "株检民公诉〔2026〕4号", "announcementEventId": .string(announcementID)]) == "accepted")

            // The city's intermediate court (湘02) accepts the suit: a district court's code, or a case type not in the list, is refused.
            #expect(try await step(http, "litigation.accepted", by: "zz-court", case: caseID, at: "2026-04-12T09:00:00+08:00",
                                   ["caseNumber": "（2026）湘0211民初7号", "acceptedOn": "2026-04-12", "causeOfAction": "环境污染民事公益诉讼"]) == "refused number.not-senders")
            #expect(try await step(http, "litigation.accepted", by: "zz-court", case: caseID, at: "2026-04-12T09:10:00+08:00",
                                   ["caseNumber": "（2026）湘02民审7号", "acceptedOn": "2026-04-12", "causeOfAction": "环境污染民事公益诉讼"]) == "refused number.invalid")
            // The same wrong code as the court's native record: refused at its adapter, before the hub.
            let native = """
                <?xml version="1.0" encoding="UTF-8"?>
                <record><JLLX>LA</JLLX><JLBH>ZZZY-LA-2026-0007</JLBH><TYAJBS>\(caseID)</TYAJBS><CZSJ>20260412091500</CZSJ>
                <AH>（2026）湘0211民初7号</AH><LARQ>2026年4月12日</LARQ><AY>环境污染民事公益诉讼</AY></record>
                """
            let (nativeStatus, problem) = try await http.sendRaw("POST", "/v1/agencies/zz-court/records", Array(native.utf8), contentType: "application/xml")
            #expect(nativeStatus == 422 && "\(problem)".contains("湘0211"), "\(problem)")
            #expect(try await step(http, "litigation.accepted", by: "zz-court", case: caseID, at: "2026-04-12T09:20:00+08:00",
                                   ["caseNumber": "（2026）湘02民初7号", "acceptedOn": "2026-04-12", "causeOfAction": "环境污染民事公益诉讼"]) == "accepted")
        }
    }

    /// A returned file (退回案卷) lists what goes back, not only why: a
    /// return without its items is refused at the adapter, and the referring
    /// agency receives the list.
    @Test func aReturnedFileListsWhatWasReturned() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], arrivals: .atDeclaredTimes) { _, http, _ in
            let caseID = TestEnvironment.caseID("returned", openedBy: "zz-epb")
            #expect(try await step(http, "referral.submitted", by: "zz-epb", case: caseID, at: "2026-07-01T09:00:00+08:00",
                                   ["receiver": "zz-procuratorate", "referralKind": "case-file", "summary": "涉嫌非法排放含重金属废水"]) == "accepted")
            let bare = AdminAPITests.event("referral.returned", by: "zz-procuratorate", case: caseID, at: "2026-07-02T09:00:00+08:00",
                                           ["reasons": ["缺少监测报告"]])
            let (status, problem) = try await http.send("POST", "/v1/agencies/zz-procuratorate/events", bare)
            #expect(status == 422 && "\(problem)".contains("returnedItems"), "\(problem)")

            let items: JSONValue = [["name": "案件移送书", "copies": 1, "pages": 2], ["name": "现场检查笔录", "copies": 1, "pages": 5], ["name": "涉案物品清单", "note": "原件"]]
            #expect(try await step(http, "referral.returned", by: "zz-procuratorate", case: caseID, at: "2026-07-02T09:30:00+08:00",
                                   ["reasons": ["缺少监测报告"], "returnedItems": items]) == "accepted")
            try await http.waitForEvent("zz-epb", type: "casehub.referral.returned.v1", subject: caseID)
            let (_, inbox) = try await http.send("GET", "/v1/agencies/zz-epb/inbox?after=0&limit=1000", nil)
            let returned = inbox["events"]?.arrayValue?.first { $0["event"]?["type"] == "casehub.referral.returned.v1" && $0["event"]?["subject"]?.stringValue == caseID }
            #expect(returned?["event"]?["data"]?["returnedItems"] == items, "\(returned ?? .null)")
        }
    }

    /// 以罚代刑 (Decree 310 art. 11): no penalty in place of a decided
    /// transfer, whether on the case or naming it; a penalty naming a case
    /// under transfer reaches its procuratorate; a bureau's penalty decision
    /// number is used once.
    @Test func aPenaltyCannotReplaceATransfer() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "tianyuan-procuratorate"], arrivals: .atDeclaredTimes) { stack, http, database in
            let crime = TestEnvironment.caseID("transfer", openedBy: "zz-epb")
            let penaltyCase = TestEnvironment.caseID("penalty", openedBy: "zz-epb")
            let attachment: JSONValue = ["name": "移送书.pdf", "sha256": .string(String(repeating: "b", count: 64)), "size": 1, "mediaType": "application/pdf"]
            #expect(try await step(http, "crime.case-reported", by: "zz-epb", case: crime, at: "2026-07-01T09:00:00+08:00", ["summary": "暗管排放含铬废水"]) == "accepted")
            #expect(try await step(http, "crime.transfer-decided", by: "zz-epb", case: crime, at: "2026-07-01T10:00:00+08:00",
                                   ["decision": "transfer", "decidedBy": "局长"]) == "accepted")
            func penalty(_ number: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
                var data: [String: JSONValue] = ["decisionNumber": .string(number), "decidedOn": "2026-07-01", "summary": "罚款十万元"]
                data.merge(extra) { _, new in new }
                return .object(data)
            }
            // On the case itself, and naming it from a case of its own: refused, naming the rule.
            #expect(try await step(http, "case.penalty-decided", by: "zz-epb", case: crime, at: "2026-07-01T11:00:00+08:00",
                                   penalty("株环罚字〔2026〕S-1号")) == "refused penalty.instead-of-transfer")
            #expect(try await step(http, "case.penalty-decided", by: "zz-epb", case: penaltyCase, at: "2026-07-01T11:10:00+08:00",
                                   penalty("株环罚字〔2026〕S-1号", ["relatedCaseId": .string(crime)])) == "refused penalty.instead-of-transfer")
            let (_, receipts) = try await http.send("GET", "/v1/agencies/zz-epb/inbox?after=0&limit=1000", nil)
            let refusal = receipts["events"]?.arrayValue?.last { $0["event"]?["data"]?["code"] == "penalty.instead-of-transfer" }
            #expect("\(refusal ?? .null)".contains("第十一条"), "\(refusal ?? .null)")

            // Transferred: the case is under transfer. A penalty naming it by the bureau's transfer number is recorded and reaches its procuratorate.
            #expect(try await step(http, "crime.transferred", by: "zz-epb", case: crime, at: "2026-07-01T15:00:00+08:00", [
                "police": "zz-psb", "procuratorate": "tianyuan-procuratorate", "transferNumber": "株环移〔2026〕5号",
                "materials": [["kind": "transfer-letter", "attachment": attachment]],
            ]) == "accepted")
            #expect(try await step(http, "case.penalty-decided", by: "zz-epb", case: penaltyCase, at: "2026-07-02T09:00:00+08:00",
                                   penalty("株环罚字〔2026〕S-1号", ["relatedNumber": "株环移〔2026〕5号", "title": "某电镀厂暗管排放案"])) == "accepted")
            try await http.waitForEvent("tianyuan-procuratorate", type: "casehub.case.penalty-decided.v1", subject: penaltyCase)
            let (_, view) = try await http.send("GET", "/v1/agencies/zz-epb/cases/\(penaltyCase)", nil)
            #expect(view["links"] == [["caseID": .string(crime), "relation": "same-act"]], "\(view)")
            let (_, transferred) = try await http.send("GET", "/v1/agencies/zz-epb/cases/\(crime)", nil)
            #expect(transferred["links"]?.arrayValue?.contains(["caseID": .string(penaltyCase), "relation": "same-act"]) == true, "\(transferred)")

            // The same number again, even written with half-width brackets, on another case: refused, naming the case that has it.
            let other = TestEnvironment.caseID("penalty-again", openedBy: "zz-epb")
            #expect(try await step(http, "case.penalty-decided", by: "zz-epb", case: other, at: "2026-07-03T09:00:00+08:00",
                                   penalty("株环罚字[2026]S-1号")) == "refused penalty.number-reused")
            // The bureau's native record of a penalty on the transferred case: recorded there, and its procuratorate hears of it.
            let native = """
                {"record_type": "PENALTY_DECISION", "record_no": "ZHJ-CF-2026-0002", "hub_case_id": "\(crime)", "operate_time": "2026-07-04 10:00",
                 "decision_no": "株环罚字〔2026〕S-2号", "decision_date": "2026年7月4日", "decision_summary": "责令停产整治"}
                """
            http.letTimePass(until: try #require(RFC3339.parse("2026-07-04T10:00:00+08:00")))
            let (nativeStatus, nativeBody) = try await http.sendRaw("POST", "/v1/agencies/zz-epb/records", Array(native.utf8))
            #expect(nativeStatus == 202, "\(nativeBody)")
            try await http.waitForEvent("tianyuan-procuratorate", type: "casehub.case.penalty-decided.v1", subject: crime)

            // The trail alone gives the same cases: the related case found by number, the links mirrored.
            let replay = try await CaseReplayer(store: HubStore(client: database), registry: stack.configuration.registry).replay()
            #expect(replay.isConsistent, "\(replay.mismatches) \(replay.refusedOnReplay)")
        }
    }

    /// The civil PIL announcement ends when its computed 30 days have run:
    /// a suit after that is accepted without an `announcement-ended` first,
    /// one before it is refused with the true end date; a qualified
    /// plaintiff who sues during the announcement is supported at once.
    @Test func theCivilAnnouncementEndsWhenItsPeriodHasRun() async throws {
        try await withRunningStack(agencies: ["zz-procuratorate", "zz-court"], arrivals: .atDeclaredTimes) { _, http, _ in
            /// A civil PIL case in its announcement, published on 4 March 2026; returns the announcement's event id.
            func announced(_ caseID: String, number: Int) async throws -> String {
                #expect(try await step(http, "civil-pil.clue-registered", by: "zz-procuratorate", case: caseID, at: "2026-03-02T09:00:00+08:00",
                                       ["clueSource": "own-discovery", "summary": "非法倾倒危险废物"]) == "accepted")
                #expect(try await step(http, "civil-pil.filed", by: "zz-procuratorate", case: caseID, at: "2026-03-03T09:00:00+08:00",
                                       ["documentNumber": .string("株检民公立〔2026〕\(number)号")]) == "accepted")
                let announcement = AdminAPITests.event("civil-pil.announcement-published", by: "zz-procuratorate", case: caseID, at: "2026-03-04T09:00:00+08:00",
                                                       ["documentNumber": .string("株检民公告〔2026〕\(number)号"), "publishedOn": "2026-03-04", "channel": "正义网"])
                let id = try await openings.post(http, announcement, as: "zz-procuratorate")
                #expect(try await openings.outcomes(http, "zz-procuratorate", for: [id])[id] == "accepted")
                return id
            }
            func suit(_ announcementID: String, number: Int) -> JSONValue {
                ["court": "zz-court", "complaintNumber": .string("株检民公诉〔2026〕\(number)号"), "announcementEventId": .string(announcementID)]
            }
            let early = TestEnvironment.caseID("announcement-running", openedBy: "zz-procuratorate")
            let earlyAnnouncement = try await announced(early, number: 11)
            #expect(try await step(http, "civil-pil.suit-filed", by: "zz-procuratorate", case: early, at: "2026-03-20T09:00:00+08:00",
                                   suit(earlyAnnouncement, number: 11)) == "refused civil-pil.announcement-running")
            let (_, inbox) = try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox?after=0&limit=1000", nil)
            let refusal = inbox["events"]?.arrayValue?.last { $0["event"]?["data"]?["code"] == "civil-pil.announcement-running" }
            // 30 days from the day after 4 March end on 3 April, a working day in 2026.
            #expect("\(refusal ?? .null)".contains("2026-04-03"), "\(refusal ?? .null)")
            // After the computed end, the suit goes in without announcement-ended.
            #expect(try await step(http, "civil-pil.suit-filed", by: "zz-procuratorate", case: early, at: "2026-04-07T09:00:00+08:00",
                                   suit(earlyAnnouncement, number: 11)) == "accepted")
            let (_, view) = try await http.send("GET", "/v1/agencies/zz-procuratorate/cases/\(early)", nil)
            #expect(view["status"] == "suit-filed", "\(view)")
            #expect(view["deadlines"]?.arrayValue?.first { $0["rule"] == "civil-pil.announcement" }?["state"] == "met", "\(view)")

            // A qualified plaintiff sued on day 6 of the announcement: supported at once.
            let supported = TestEnvironment.caseID("plaintiff-sued", openedBy: "zz-procuratorate")
            _ = try await announced(supported, number: 12)
            #expect(try await step(http, "civil-pil.announcement-ended", by: "zz-procuratorate", case: supported, at: "2026-03-10T09:00:00+08:00",
                                   ["qualifiedPlaintiffSued": true]) == "accepted")
            #expect(try await step(http, "civil-pil.support-prosecution", by: "zz-procuratorate", case: supported, at: "2026-03-11T09:00:00+08:00",
                                   ["plaintiff": "湖南省环保联合会", "court": "zz-court"]) == "accepted")
            let (_, supportedView) = try await http.send("GET", "/v1/agencies/zz-procuratorate/cases/\(supported)", nil)
            #expect(supportedView["status"] == "supporting", "\(supportedView)")
            #expect(supportedView["deadlines"]?.arrayValue?.first { $0["rule"] == "civil-pil.announcement" }?["state"] == "stopped")
        }
    }

    /// The procuratorate copied on a transfer supervises the police's
    /// decision: their filing deadline's notices reach it too, not only the
    /// police and the bureau.
    @Test func theSupervisingProcuratorateHearsOfThePolicesOverdueDecision() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "tianyuan-procuratorate"], arrivals: .atDeclaredTimes) { (_, http, _) async throws in
            let caseID = try await transferredToPolice(http, "supervised-deadline", police: "zz-psb", procuratorate: "tianyuan-procuratorate", number: 8)
            // Transferred in July: the three days to decide on filing ran out long ago.
            #expect(try await step(http, "crime.receipt-signed", by: "zz-psb", case: caseID, at: "2026-07-01T12:00:00+08:00") == "accepted")
            http.letTimePass()
            func overdueNotices(to agency: String) async throws -> Int {
                let (_, body) = try await http.send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000", nil)
                return (body["events"]?.arrayValue ?? []).filter {
                    $0["event"]?["type"] == "casehub.hub.deadline-overdue.v1" && $0["event"]?["subject"]?.stringValue == caseID
                        && $0["event"]?["data"]?["rule"] == "crime.police-filing-decision"
                }.count
            }
            for agency in ["zz-psb", "zz-epb", "tianyuan-procuratorate"] {
                let noticed = await eventually(timeout: .seconds(30)) { (try? await overdueNotices(to: agency)) == 1 }
                #expect(noticed, "\(agency) got no overdue notice of the police's filing decision")
            }
        }
    }

    /// The appeal window after a first-instance judgment is a tracked
    /// deadline: in the case view with its last day, noticed to the holder
    /// and the court when it has run, closed (never late) when the judgment
    /// becomes final.
    @Test func theAppealWindowIsATrackedDeadline() async throws {
        try await withRunningStack(agencies: ["zz-procuratorate", "zz-court"], arrivals: .atDeclaredTimes) { (_, http, _) async throws in
            let caseID = try await civilPILInCourt(http, "appeal-window", number: 21)
            // Served on Monday 2 March 2026: 15 days end on Tuesday 17 March.
            #expect(try await step(http, "litigation.judgment-issued", by: "zz-court", case: caseID, at: "2026-03-02T09:00:00+08:00", [
                "instance": "first", "form": "judgment", "documentNumber": "（2026）湘02民初21号", "outcome": "被告赔偿生态环境修复费用", "servedOn": "2026-03-02",
            ]) == "accepted")
            // The window runs from the hub's delivery of the judgment to the holder (the same day here).
            var window: JSONValue?
            let served = await eventually(timeout: .seconds(30)) {
                let view = try? await http.send("GET", "/v1/agencies/zz-procuratorate/cases/\(caseID)", nil).1
                window = view?["deadlines"]?.arrayValue?.first { $0["rule"] == "litigation.appeal-judgment" }
                return window?["state"] == "running"
            }
            #expect(served && window?["dueDate"] == "2026-03-17" && window?["obligedAgency"] == "zz-procuratorate", "\(window ?? .null)")
            // It ran out long ago: the holder and the court hear of it at once.
            http.letTimePass()
            for agency in ["zz-procuratorate", "zz-court"] {
                let noticed = await eventually(timeout: .seconds(30)) {
                    guard let (_, body) = try? await http.send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000", nil) else { return false }
                    return (body["events"]?.arrayValue ?? []).contains { item in
                        item["event"]?["type"] == "casehub.hub.deadline-overdue.v1" && item["event"]?["data"]?["rule"] == "litigation.appeal-judgment"
                            && item["event"]?["subject"]?.stringValue == caseID
                    }
                }
                #expect(noticed, "\(agency) was not told that the appeal period has run")
            }
            #expect(try await step(http, "litigation.final", by: "zz-court", case: caseID, at: "2026-03-18T09:00:00+08:00",
                                   ["effectiveOn": "2026-03-18"]) == "accepted")
            let (_, final) = try await http.send("GET", "/v1/agencies/zz-procuratorate/cases/\(caseID)", nil)
            #expect(final["deadlines"]?.arrayValue?.first { $0["rule"] == "litigation.appeal-judgment" }?["state"] == "met", "\(final)")
        }
    }

    /// 中止审理 / 恢复审理, and 最高法《关于审理生态环境损害赔偿案件的若干规定（试行）》
    /// 第十七条: a civil PIL linked as `parallel-suspended` to a pending
    /// damage-compensation case for the same harm is neither heard nor judged
    /// until that case ends or the court resumes the PIL. While the court has
    /// suspended it, the trial period is paused, and it runs on, later by the
    /// days of the pause, once the proceedings resume.
    @Test func aCivilPILWaitsForTheParallelCompensationCase() async throws {
        try await withRunningStack(agencies: ["zz-procuratorate", "zz-court", "zz-epb"], arrivals: .atDeclaredTimes) { (stack, http, database) async throws in
            // The bureau's compensation suit, accepted by the intermediate court and pending.
            let compensation = TestEnvironment.caseID("compensation", openedBy: "zz-epb")
            #expect(try await step(http, "compensation.assessment-completed", by: "zz-epb", case: compensation, at: "2026-01-10T09:00:00+08:00",
                                   ["reportNumber": "湘环评估〔2026〕3号", "damageAmount": 1_200_000]) == "accepted")
            #expect(try await step(http, "compensation.consultation-started", by: "zz-epb", case: compensation, at: "2026-01-12T09:00:00+08:00",
                                   ["responsibleParty": "某化工有限公司"]) == "accepted")
            let failed = AdminAPITests.event("compensation.consultation-failed", by: "zz-epb", case: compensation, at: "2026-02-01T09:00:00+08:00",
                                             ["reasons": ["赔偿义务人拒绝承担修复费用"]])
            let failedID = try await openings.post(http, failed, as: "zz-epb")
            #expect(try await openings.outcomes(http, "zz-epb", for: [failedID])[failedID] == "accepted")
            #expect(try await step(http, "compensation.suit-filed", by: "zz-epb", case: compensation, at: "2026-02-02T09:00:00+08:00",
                                   ["court": "zz-court", "consultationFailedEventId": .string(failedID)]) == "accepted")
            #expect(try await step(http, "litigation.accepted", by: "zz-court", case: compensation, at: "2026-02-03T09:00:00+08:00",
                                   ["caseNumber": "（2026）湘02民初31号", "acceptedOn": "2026-02-03", "causeOfAction": "生态环境损害赔偿"]) == "accepted")

            /// A civil PIL for the same harm, in the same court and linked to the compensation case.
            func linkedPIL(number: Int) async throws -> String {
                let caseID = try await civilPILInCourt(http, "parallel-pil", number: number)
                #expect(try await step(http, "case.linked", by: "zz-court", case: caseID, at: "2026-02-22T09:00:00+08:00",
                                       ["linkedCaseId": .string(compensation), "relation": "parallel-suspended"]) == "accepted")
                return caseID
            }
            func firstInstance(_ caseID: String) async throws -> JSONValue? {
                let (_, view) = try await http.send("GET", "/v1/agencies/zz-procuratorate/cases/\(caseID)", nil)
                return view["deadlines"]?.arrayValue?.first { $0["rule"] == "litigation.first-instance" }
            }
            let hearing: JSONValue = ["hearingAt": "2026-06-10T09:00:00+08:00", "place": "第三审判庭"]

            // While the compensation case is pending, the PIL is neither heard nor judged.
            let resumedByCourt = try await linkedPIL(number: 41)
            #expect(try await step(http, "litigation.hearing-scheduled", by: "zz-court", case: resumedByCourt, at: "2026-03-01T09:00:00+08:00",
                                   hearing) == "refused litigation.parallel-pending")
            #expect(try await step(http, "litigation.judgment-issued", by: "zz-court", case: resumedByCourt, at: "2026-03-01T10:00:00+08:00", [
                "instance": "first", "form": "judgment", "documentNumber": "（2026）湘02民初41号", "outcome": "被告赔偿", "servedOn": "2026-03-01",
            ]) == "refused litigation.parallel-pending")
            // Six months from acceptance on 21 February: the last day is 21 August.
            #expect(try await firstInstance(resumedByCourt)?["dueDate"] == "2026-08-21")

            // The court suspends it on 1 April: the trial period pauses, nothing is heard.
            #expect(try await step(http, "litigation.suspended", by: "zz-court", case: resumedByCourt, at: "2026-04-01T09:00:00+08:00", [
                "suspendedOn": "2026-04-01", "reasons": ["同一污染环境行为的生态环境损害赔偿诉讼尚未审结"], "rulingNumber": "（2026）湘02民初41号",
            ]) == "accepted")
            let paused = try await firstInstance(resumedByCourt)
            #expect(paused?["state"] == "suspended" && paused?["stage"] == "suspended", "\(paused ?? .null)")
            #expect(try await step(http, "litigation.hearing-scheduled", by: "zz-court", case: resumedByCourt, at: "2026-04-02T09:00:00+08:00",
                                   hearing) == "refused transition.not-allowed")
            // Only the court seized may resume.
            #expect(try await step(http, "litigation.resumed", by: "zz-procuratorate", case: resumedByCourt, at: "2026-05-01T09:00:00+08:00",
                                   ["resumedOn": "2026-05-01"]) == "refused sender.not-allowed")
            // It resumes on 1 May, the compensation case still pending: 30 days did not count,
            // so the period runs as if accepted on 23 March and ends on 23 September.
            #expect(try await step(http, "litigation.resumed", by: "zz-court", case: resumedByCourt, at: "2026-05-01T09:00:00+08:00",
                                   ["resumedOn": "2026-05-01", "reasons": ["经审查，两案诉讼请求不同"]]) == "accepted")
            let resumed = try await firstInstance(resumedByCourt)
            #expect(resumed?["state"] == "running" && resumed?["dueDate"] == "2026-09-23", "\(resumed ?? .null)")
            #expect(try await step(http, "litigation.hearing-scheduled", by: "zz-court", case: resumedByCourt, at: "2026-05-02T09:00:00+08:00",
                                   hearing) == "accepted")

            // Another PIL waits until the compensation case is final, then goes on without a resumption.
            let waiting = try await linkedPIL(number: 42)
            #expect(try await step(http, "litigation.hearing-scheduled", by: "zz-court", case: waiting, at: "2026-03-01T09:00:00+08:00",
                                   hearing) == "refused litigation.parallel-pending")
            #expect(try await step(http, "litigation.judgment-issued", by: "zz-court", case: compensation, at: "2026-03-02T09:00:00+08:00", [
                "instance": "first", "form": "judgment", "documentNumber": "（2026）湘02民初31号", "outcome": "被告赔偿生态环境修复费用", "servedOn": "2026-03-02",
            ]) == "accepted")
            // Its appeal window runs from the holder's receipt: the delivery is recorded before the clock moves on.
            let served = await eventually(timeout: .seconds(30)) {
                let view = try? await http.send("GET", "/v1/agencies/zz-court/cases/\(compensation)", nil).1
                return view?["deadlines"]?.arrayValue?.first { $0["rule"] == "litigation.appeal-judgment" }?["state"] == "running"
            }
            #expect(served)
            #expect(try await step(http, "litigation.final", by: "zz-court", case: compensation, at: "2026-03-18T09:00:00+08:00",
                                   ["effectiveOn": "2026-03-18"]) == "accepted")
            #expect(try await step(http, "litigation.hearing-scheduled", by: "zz-court", case: waiting, at: "2026-03-19T09:00:00+08:00",
                                   hearing) == "accepted")

            // The trail alone gives the same cases: the waiting PIL finds the compensation case as the hub did.
            let replay = try await CaseReplayer(store: HubStore(client: database), registry: stack.configuration.registry).replay()
            #expect(replay.isConsistent, "\(replay.mismatches) \(replay.refusedOnReplay)")
        }
    }
}
