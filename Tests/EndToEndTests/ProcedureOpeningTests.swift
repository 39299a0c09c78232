import CaseModel
import Foundation
import HubStore
import TestSupport
import Testing

/// Every documented way of opening a case leads on, through the agencies'
/// adapters of a running stack: `casehub.case.opened` (canonical, or made
/// from a bureau's native inspection record), then the procedure's first
/// event and the step after it.
@Suite struct ProcedureOpeningTests {
    /// The hub's receipts for these events, once all have come back.
    func outcomes(_ http: HTTPClient, _ agency: String, for ids: [String]) async throws -> [String: String] {
        let deadline = ContinuousClock.now + .seconds(60)
        var outcomes: [String: String] = [:]
        while ContinuousClock.now < deadline, outcomes.count < ids.count {
            let (_, body) = try await http.send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000&wait=1", nil)
            for item in body["events"]?.arrayValue ?? [] where item["event"]?["type"] == "casehub.hub.receipt.v1" {
                let data = item["event"]?["data"]
                if let id = data?["eventId"]?.stringValue, ids.contains(id) {
                    outcomes[id] = data?["outcome"]?.stringValue.map { $0 + (data?["code"]?.stringValue.map { " " + $0 } ?? "") }
                }
            }
        }
        return outcomes
    }

    func post(_ http: HTTPClient, _ event: JSONValue, as agency: String) async throws -> String {
        let (status, body) = try await http.send("POST", "/v1/agencies/\(agency)/events", event)
        #expect(status == 202, "\(body)")
        return event["id"]!.stringValue!
    }

    @Test func everyProcedureOpenedExplicitlyTakesItsFirstEvent() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate", "zz-cdi", "zz-psb"]) { _, http, _ in
            for opening in ProcedureOpening.all {
                let sender = opening.sender.rawValue
                let caseID = TestEnvironment.caseID("opened-\(opening.procedure)", openedBy: sender)
                let opened = try await post(http, AdminAPITests.event(
                    "case.opened", by: sender, case: caseID, at: "2026-07-01T09:00:00+08:00",
                    ["procedure": .string(opening.procedure), "title": "某案"]), as: sender)
                // The first event only once the case exists: they travel on one topic, in order.
                let first = try await post(http, AdminAPITests.event(
                    opening.first, by: sender, case: caseID, at: "2026-07-01T10:00:00+08:00", opening.data), as: sender)
                let outcomes = try await outcomes(http, sender, for: [opened, first])
                #expect(outcomes[opened] == "accepted" && outcomes[first] == "accepted", "\(opening.procedure): \(outcomes)")
            }
        }
    }

    /// The bureau's native inspection record for a case to be transferred
    /// (办理方式 YS) opens a crime-transfer case; the report to the head and
    /// the transfer decision follow.
    @Test func aNativeInspectionRecordOpensACrimeTransferThatLeadsOn() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate", "zz-psb"]) { _, http, _ in
            let caseID = TestEnvironment.caseID("inspection", openedBy: "zz-epb")
            let record: JSONValue = [
                "record_type": "INSPECTION_CASE", "record_no": .string("\(caseID)-1"), "hub_case_id": .string(caseID),
                "operate_time": "2026-07-01 09:30", "handling": "YS", "case_name": "某公司渗坑排放案", "case_no": "株环立〔2026〕3号",
            ]
            let (status, body) = try await http.send("POST", "/v1/agencies/zz-epb/records", record)
            #expect(status == 202, "\(body)")
            let opened = try #require(body["events"]?[0]?["id"]?.stringValue, "\(body)")
            let reported = try await post(http, AdminAPITests.event(
                "crime.case-reported", by: "zz-epb", case: caseID, at: "2026-07-01T10:00:00+08:00", ["summary": "渗坑排放，涉嫌污染环境罪"]), as: "zz-epb")
            let decided = try await post(http, AdminAPITests.event(
                "crime.transfer-decided", by: "zz-epb", case: caseID, at: "2026-07-02T10:00:00+08:00",
                ["decision": "transfer", "decidedBy": "局长"]), as: "zz-epb")
            let outcomes = try await outcomes(http, "zz-epb", for: [opened, reported, decided])
            #expect(outcomes[opened] == "accepted" && outcomes[reported] == "accepted" && outcomes[decided] == "accepted", "\(outcomes)")
        }
    }
}
