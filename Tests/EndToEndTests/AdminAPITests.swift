import CaseModel
import Foundation
import HubStore
import Testing
import TestSupport

/// The administrators' read API against a real stack.
@Suite(.serialized)
struct AdminAPITests {
    static func event(_ type: String, by agency: String, case caseID: String, at time: String, _ data: JSONValue) -> JSONValue {
        .object([
            "specversion": "1.0", "id": .string(UUID().uuidString.lowercased()), "source": .string(agency),
            "type": .string("casehub.\(type).v1"), "time": .string(time), "subject": .string(caseID), "data": data,
        ])
    }

    @Test func casesDeadlinesAndRejectionsForAdministrators() async throws {
        try await withRunningStack(arrivals: .atDeclaredTimes) { _, http, database in
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test", by: .administrator("test"))
            func get(_ path: String) async throws -> (Int, JSONValue) { try await http.send("GET", path, nil, bearer: .token(admin)) }
            func post(_ type: String, by agency: String, case caseID: String, _ data: JSONValue) async throws {
                let (status, body) = try await http.send("POST", "/v1/agencies/\(agency)/events",
                                                         Self.event(type, by: agency, case: caseID, at: "2026-07-01T09:00:00+08:00", data))
                #expect(status == 202, "\(body)")
            }
            // A PIL case whose recommendation reached the bureau on 1 July: by now its two months to reply have run.
            try await post("pil.clue-registered", by: "zz-procuratorate", case: "zz-procuratorate:admin-pil", ["clueSource": "referral", "summary": "排污"])
            try await post("pil.filed", by: "zz-procuratorate", case: "zz-procuratorate:admin-pil", ["documentNumber": "株检行公立〔2026〕8号", "agency": "zz-epb"])
            try await post("pil.recommendation-issued", by: "zz-procuratorate", case: "zz-procuratorate:admin-pil", [
                "documentNumber": "株检行公建〔2026〕8号", "agency": "zz-epb", "urgent": false, "recommendations": ["依法履职"]])
            try await http.waitForEvent("zz-epb", type: "casehub.pil.recommendation-issued.v1", subject: "zz-procuratorate:admin-pil")
            try await post("pil.recommendation-received", by: "zz-epb", case: "zz-procuratorate:admin-pil",
                           ["receivedAt": "2026-07-01T09:00:00+08:00"])
            try await post("referral.submitted", by: "zz-epb", case: "zz-epb:admin-referral", ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"])
            // Out of turn: refused by the hub.
            try await post("litigation.accepted", by: "zz-court", case: "admin-nothing", [
                "caseNumber": "（2026）湘02民初1号", "acceptedOn": "2026-07-01", "causeOfAction": "x"])
            let settled = await eventually(timeout: .seconds(60)) {
                let rejections = try? await get("/v1/rejections").1["rejections"]?.arrayValue?.count
                let cases = try? await get("/v1/cases?agency=zz-epb").1["cases"]?.arrayValue?.count
                let deadlines = try? await get("/v1/cases/zz-procuratorate:admin-pil").1["deadlines"]?.arrayValue?.count
                return rejections == 1 && cases == 2 && (deadlines ?? 0) > 0
            }
            #expect(settled)

            // Who may ask.
            #expect(try await http.send("GET", "/v1/cases", nil, bearer: .none).0 == 401)
            #expect(try await http.send("GET", "/v1/cases", nil, bearer: .token(try #require(http.tokens["zz-epb"]))).0 == 403)

            // Cases: filters and detail.
            let (_, pil) = try await get("/v1/cases?procedure=administrative-pil")
            #expect(pil["cases"]?.arrayValue?.map { $0["caseId"] } == ["zz-procuratorate:admin-pil"])
            let (_, byNumber) = try await get("/v1/cases?number=%E6%A0%AA%E6%A3%80%E8%A1%8C%E5%85%AC%E7%AB%8B%E3%80%942026%E3%80%958%E5%8F%B7")
            #expect(byNumber["cases"]?[0]?["caseId"] == "zz-procuratorate:admin-pil")
            let (_, overdue) = try await get("/v1/cases?overdue=true")
            #expect(overdue["cases"]?.arrayValue?.map { $0["caseId"] } == ["zz-procuratorate:admin-pil"])
            let (_, paged) = try await get("/v1/cases?limit=1")
            #expect(paged["cases"]?.arrayValue?.count == 1 && paged["nextOffset"] == 1)
            let (status, detail) = try await get("/v1/cases/zz-procuratorate:admin-pil")
            #expect(status == 200)
            #expect(detail["numbers"]?["zz-procuratorate"] == "株检行公立〔2026〕8号")
            let (missing, missingBody) = try await get("/v1/cases/no-such-case")
            #expect(missing == 404, "\(missingBody)")

            // Its audit trail, chain checked.
            let (_, trail) = try await get("/v1/cases/zz-procuratorate:admin-pil/events")
            // Four accepted events of the agencies (deadline notices, audited as 'admin', and the hub's
            // record of the recommendation's service may follow).
            #expect(trail["events"]?.arrayValue?.filter { $0["outcome"] == "accepted" && $0["source"] != "casehub-hub" }.count == 4, "\(trail)")
            #expect(trail["chain"]?["intact"] == true)

            // Deadlines as of now and as of an instant before the warning window.
            let (_, due) = try await get("/v1/deadlines?state=overdue")
            #expect(due["deadlines"]?.arrayValue?.contains { $0["caseId"] == "zz-procuratorate:admin-pil" && $0["rule"] == "pil.reply" } == true)
            // Due at the end of 1 September, warned of ten days before.
            let early = "2026-08-01T00:00:00+08:00".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let (_, before) = try await get("/v1/deadlines?asOf=\(early)&procedure=administrative-pil")
            #expect(before["deadlines"]?.arrayValue?.contains { $0["rule"] == "pil.reply" } == false)

            // Refusals, with reasons.
            let (_, refused) = try await get("/v1/rejections?agency=zz-court")
            #expect(refused["rejections"]?[0]?["code"] == "case.unknown")

            // Flows: who sent what to whom, with latency; refusals by sender and code.
            // Since before the stack's played July (the default is the last day).
            let (flowStatus, flows) = try await get("/v1/flows?bucket=3600&since=2026-06-30T00:00:00Z")
            #expect(flowStatus == 200, "\(flows)")
            let flow = flows["deliveries"]?.arrayValue?.first {
                $0["sender"] == "zz-procuratorate" && $0["receiver"] == "zz-epb" && $0["type"] == "casehub.pil.recommendation-issued.v1"
            }
            #expect(flow?["count"] == 1)
            // The stack's played clock stands still between arrivals: the latency may be exactly 0, written as an integer.
            switch flow?["latencyP50Seconds"] {
            case .number(let p50)?: #expect(p50 >= 0 && p50 < 60)
            case .integer(let p50)?: #expect(p50 >= 0 && p50 < 60)
            default: Issue.record("no latency in \(String(describing: flow))")
            }
            #expect(flows["refusals"]?.arrayValue?.contains { $0["sender"] == "zz-court" && $0["code"] == "case.unknown" } == true)
            #expect(try await get("/v1/flows?bucket=0").0 == 400)

            // Lag of the hub's and the adapters' consumer groups, per partition.
            let (lagStatus, lag) = try await get("/v1/lag")
            #expect(lagStatus == 200)
            let groups = Set(lag["partitions"]?.arrayValue?.compactMap { $0["group"]?.stringValue } ?? [])
            #expect(groups.count == 2, "\(lag)")
            let lags = lag["partitions"]?.arrayValue?.map { entry -> Int64 in
                if case .integer(let n)? = entry["lag"] { return n }
                return -1
            } ?? []
            #expect(!lags.isEmpty && lags.allSatisfy { $0 >= 0 })

            // Agencies: the registry's with their activity; the overview's figures.
            let (_, agencies) = try await get("/v1/agencies")
            let court = agencies["agencies"]?.arrayValue?.first { $0["id"] == "zz-court" }
            #expect(court?["name"] == "株洲市中级人民法院" && court?["refused"] == 1 && court?["adapterHere"] == true)
            #expect(agencies["agencies"]?.arrayValue?.first { $0["id"] == "zz-epb" }?["accepted"] == 2)
            let (_, overview) = try await get("/v1/overview")
            #expect(overview["cases"] == 2 && overview["rejections"] == 1 && overview["rejectionsNotReplayed"] == 1, "\(overview)")
            if case .integer(let overdue)? = overview["deadlines"]?["overdue"] { #expect(overdue >= 1) } else { Issue.record("\(overview)") }
            #expect(overview["outboxBacklog"] != nil)

            // Bad parameters: 400 naming each.
            let (bad, problem) = try await get("/v1/cases?limit=0&overdue=maybe&since=yesterday")
            #expect(bad == 400)
            #expect(Set(problem["violations"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []) == ["?limit", "?overdue", "?since"])
        }
    }
}

extension AdminAPITests {
    /// An answer that overtook its question is refused; once the question
    /// has arrived, an administrator replays it and the hub accepts it.
    @Test func aRefusedEventIsReplayedOnceWithAReason() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"]) { _, http, database in
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "值班员", by: .administrator("test"))
            func call(_ method: String, _ path: String, _ body: JSONValue? = nil) async throws -> (Int, JSONValue) {
                try await http.send(method, path, body, bearer: .token(admin))
            }
            let submittedID = UUID().uuidString.lowercased()
            var submitted = Self.event("referral.submitted", by: "zz-epb", case: "zz-epb:admin-replay", at: "2026-11-29T08:00:00+08:00",
                                       ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"])
            if case .object(var members) = submitted { members["id"] = .string(submittedID); submitted = .object(members) }
            let received = Self.event("referral.received", by: "zz-procuratorate", case: "zz-epb:admin-replay", at: "2026-11-29T09:00:00+08:00",
                                      ["referralEventId": .string(submittedID)])
            // The receipt arrives first: refused, the case does not exist yet.
            #expect(try await http.send("POST", "/v1/agencies/zz-procuratorate/events", received).0 == 202)
            let refused = await eventually { (try? await call("GET", "/v1/rejections").1["rejections"]?.arrayValue?.count) == 1 }
            #expect(refused)
            let rejectionID = try #require(try await call("GET", "/v1/rejections").1["rejections"]?[0]?["id"])
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", submitted).0 == 202)
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: "zz-epb:admin-replay")

            let path = "/v1/rejections/\(pathText(rejectionID))/replay"
            #expect(try await http.send("POST", path, ["reason": "x"], bearer: .token(try #require(http.tokens["zz-epb"]))).0 == 403)
            #expect(try await call("POST", path, [:]).0 == 422)
            let (status, answer) = try await call("POST", path, ["reason": "受理回执先于移送到达，移送已到，重新处理"])
            #expect(status == 202, "\(answer)")
            #expect(answer["state"] == "replayed")
            let applied = await eventually {
                (try? await call("GET", "/v1/cases/zz-epb:admin-replay").1["status"]) == "received"
            }
            #expect(applied)
            // Idempotent: a second replay does nothing.
            let (again, second) = try await call("POST", path, ["reason": "再来一次"])
            #expect(again == 200 && second["state"] == "already-replayed")
            // Audited with the administrator and the reason; the chain holds.
            let (_, trail) = try await call("GET", "/v1/cases/zz-epb:admin-replay/events")
            let audit = trail["events"]?.arrayValue?.filter { $0["type"] == "casehub.admin.rejection-replayed" } ?? []
            #expect(audit.count == 1)
            #expect(audit.first?["source"] == "admin:值班员")
            #expect(trail["chain"]?["intact"] == true)
            #expect(try await call("POST", "/v1/rejections/999999/replay", ["reason": "x"]).0 == 404)
        }
    }

    /// An integer JSON value as path text.
    private func pathText(_ value: JSONValue) -> String {
        if case .integer(let number) = value { return String(number) }
        return "?"
    }
}
