import CaseModel
import Foundation
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

    /// 立案监督: asked by the procuratorate to explain why they did not file,
    /// the police file instead; the request's clock stops as met.
    @Test func askedToExplainThePoliceMayFileInstead() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"]) { _, http, database in
            let caseID = TestEnvironment.uniqueName("supervised")
            let attachment: JSONValue = ["name": "笔录.pdf", "sha256": .string(String(repeating: "a", count: 64)), "size": 1, "mediaType": "application/pdf"]
            #expect(try await step(http, "crime.case-reported", by: "zz-epb", case: caseID, at: "2026-07-01T09:00:00+08:00", ["summary": "渗坑排放"]) == "accepted")
            #expect(try await step(http, "crime.transfer-decided", by: "zz-epb", case: caseID, at: "2026-07-01T10:00:00+08:00",
                                   ["decision": "transfer", "decidedBy": "局长"]) == "accepted")
            #expect(try await step(http, "crime.transferred", by: "zz-epb", case: caseID, at: "2026-07-01T11:00:00+08:00", [
                "police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "株环移〔2026〕2号",
                "materials": [["kind": "transfer-letter", "attachment": attachment]],
            ]) == "accepted")
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

            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test")
            let (_, record) = try await http.send("GET", "/v1/cases/\(caseID)", nil, bearer: .token(admin))
            #expect(record["status"]?.stringValue == "filed", "\(record)")
            let explanation = record["deadlines"]?.arrayValue?.first { $0["rule"]?.stringValue == "crime.police-explanation" }
            #expect(explanation?["state"]?.stringValue == "met", "\(record["deadlines"] ?? .null)")
        }
    }

    /// A case entered late (its report dated months back): the head's
    /// three-day decision is overdue the moment it starts. Its overdue
    /// notice goes out at once and once, even though the decision follows
    /// before the scheduler looks.
    @Test func aDeadlineOverdueWhenItStartsIsNoticedOnceAtOnce() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"]) { _, http, _ in
            let caseID = TestEnvironment.uniqueName("backfilled")
            #expect(try await step(http, "crime.case-reported", by: "zz-epb", case: caseID, at: "2026-07-01T09:00:00+08:00", ["summary": "补录的旧案"]) == "accepted")
            #expect(try await step(http, "crime.transfer-decided", by: "zz-epb", case: caseID, at: "2026-07-06T10:00:00+08:00",
                                   ["decision": "transfer", "decidedBy": "局长"]) == "accepted")
            func overdueNotices() async throws -> Int {
                let (_, body) = try await http.send("GET", "/v1/agencies/zz-epb/inbox?after=0&limit=1000", nil)
                return (body["events"]?.arrayValue ?? []).filter {
                    $0["event"]?["type"] == "casehub.hub.deadline-overdue.v1" && $0["event"]?["subject"]?.stringValue == caseID
                        && $0["event"]?["data"]?["rule"] == "crime.head-decision"
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
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"]) { _, http, database in
            let caseID = TestEnvironment.uniqueName("late")
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

            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test")
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
}
