import CaseHubServer
import CaseModel
import Foundation
import Hub
import HubStore
import Postgres
import TestSupport
import Testing

/// The hub's clock is the legal clock. An event counts when the hub receives
/// it, whatever time it declares; a clock that runs from an agency's receipt
/// of a document starts at the hub's delivery into that agency's inbox; a
/// receipt date in the payload is bounded by the case's record and the hub's
/// clock. Each test plays the attack through the adapters of a running stack.
@Suite struct HubClockTests {
    let rules = ProcedureRulesTests()

    static func instant(_ text: String) -> Date { RFC3339.parse(text)! }

    /// The stack's hub clock moves to `arrival`; the client returned posts
    /// without moving it, so that what it posts declares a time of its own
    /// choosing: a sender backdating its events.
    func backdating(_ http: HTTPClient, arrivingAt arrival: String) -> HTTPClient {
        http.letTimePass(until: Self.instant(arrival))
        var client = http
        client.playedClock = nil
        return client
    }

    /// The deadline of `rule` in `agency`'s view of the case, once it is in `state`.
    func deadline(_ http: HTTPClient, _ agency: String, case caseID: String, rule: String, state: String) async throws -> JSONValue? {
        var found: JSONValue?
        _ = await eventually(timeout: .seconds(30)) {
            let view = try? await http.send("GET", "/v1/agencies/\(agency)/cases/\(caseID)", nil).1
            found = view?["deadlines"]?.arrayValue?.first { $0["rule"]?.stringValue == rule }
            return found?["state"]?.stringValue == state
        }
        return found
    }

    /// The court serves its judgment on 2 March; the window to appeal ends on
    /// 17 March. An appeal the hub receives on 25 March, dated 10 March, is late.
    @Test func aBackdatedAppealIsJudgedWhenTheHubReceivesIt() async throws {
        try await withRunningStack(agencies: ["zz-procuratorate", "zz-court"], arrivals: .atDeclaredTimes) { (_, http, _) async throws in
            let caseID = try await rules.civilPILInCourt(http, "backdated-appeal", number: 41)
            #expect(try await rules.step(http, "litigation.judgment-issued", by: "zz-court", case: caseID, at: "2026-03-02T09:00:00+08:00", [
                "instance": "first", "form": "judgment", "documentNumber": "（2026）湘02民初41号", "outcome": "驳回诉讼请求", "servedOn": "2026-03-02",
            ]) == "accepted")
            let window = try await deadline(http, "zz-procuratorate", case: caseID, rule: "litigation.appeal-judgment", state: "running")
            #expect(window?["dueDate"] == "2026-03-17", "\(window ?? .null)")
            let late = backdating(http, arrivingAt: "2026-03-25T09:00:00+08:00")
            #expect(try await rules.step(late, "litigation.appeal-filed", by: "zz-procuratorate", case: caseID, at: "2026-03-10T09:00:00+08:00",
                                         ["appellant": "株洲市人民检察院", "appealCourt": "zz-court"]) == "refused deadline.passed")
        }
    }

    /// The police refuse to file on 3 July but date the decision 1 July. The
    /// bureau's request for reconsideration on 5 July is within the three
    /// days, counted from when the hub received the refusal.
    @Test func aBackdatedRefusalDoesNotMakeTheReconsiderationLate() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"], arrivals: .atDeclaredTimes) { (_, http, _) async throws in
            let caseID = try await rules.transferredToPolice(http, "backdated-refusal", police: "zz-psb", procuratorate: "zz-procuratorate", number: 12)
            #expect(try await rules.step(http, "crime.receipt-signed", by: "zz-psb", case: caseID, at: "2026-07-01T12:00:00+08:00") == "accepted")
            let police = backdating(http, arrivingAt: "2026-07-03T10:00:00+08:00")
            #expect(try await rules.step(police, "crime.filing-decided", by: "zz-psb", case: caseID, at: "2026-07-01T13:00:00+08:00",
                                         ["decision": "not-filed", "reasons": ["证据不足"]]) == "accepted")
            #expect(try await rules.step(http, "crime.reconsideration-requested", by: "zz-epb", case: caseID, at: "2026-07-05T09:00:00+08:00",
                                         ["reasons": ["监测数据表明超标三倍以上"]]) == "accepted")
        }
    }

    /// The organ's two months to reply run from the hub's delivery of the
    /// recommendation into its inbox, whether or not it ever acknowledges;
    /// a receipt date before the recommendation (2020) or after the hub's
    /// clock (9999) is refused; a late acknowledgement does not move the
    /// clock. The procuratorate is told when the organ was served. The audit
    /// trail alone gives the same case.
    @Test func theReplyPeriodRunsFromTheHubsDelivery() async throws {
        try await withRunningStack(agencies: ["zz-procuratorate", "zz-epb"], arrivals: .atDeclaredTimes) { (stack, http, database) async throws in
            let caseID = TestEnvironment.caseID("served", openedBy: "zz-procuratorate")
            #expect(try await rules.step(http, "pil.clue-registered", by: "zz-procuratorate", case: caseID, at: "2026-03-02T09:00:00+08:00",
                                         ["clueSource": "own-discovery", "summary": "河道排污"]) == "accepted")
            #expect(try await rules.step(http, "pil.filed", by: "zz-procuratorate", case: caseID, at: "2026-03-02T10:00:00+08:00",
                                         ["documentNumber": "株检行公立〔2026〕21号", "agency": "zz-epb"]) == "accepted")
            #expect(try await rules.step(http, "pil.recommendation-issued", by: "zz-procuratorate", case: caseID, at: "2026-03-03T09:00:00+08:00", [
                "documentNumber": "株检行公建〔2026〕21号", "agency": "zz-epb", "urgent": false, "recommendations": ["依法履职"],
            ]) == "accepted")
            let reply = try await deadline(http, "zz-procuratorate", case: caseID, rule: "pil.reply", state: "running")
            #expect(reply?["startedAt"]?.stringValue.flatMap(RFC3339.parse) == Self.instant("2026-03-03T09:00:00+08:00"), "\(reply ?? .null)")
            #expect(reply?["obligedAgency"] == "zz-epb")

            // Told to the procuratorate: the organ was served, and by when it must reply.
            try await http.waitForEvent("zz-procuratorate", type: "casehub.hub.served.v1", subject: caseID)
            let (_, inbox) = try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox?after=0&limit=1000", nil)
            let served = inbox["events"]?.arrayValue?.first { $0["event"]?["type"] == "casehub.hub.served.v1" && $0["event"]?["subject"]?.stringValue == caseID }
            #expect(served?["event"]?["data"]?["servedAgency"] == "zz-epb", "\(served ?? .null)")
            let replyDue = reply?["dueAt"]?.stringValue.flatMap(RFC3339.parse)
            #expect(served?["event"]?["data"]?["deadlines"]?.arrayValue?.contains {
                $0["rule"] == "pil.reply" && $0["dueAt"]?.stringValue.flatMap(RFC3339.parse) == replyDue
            } == true, "\(served ?? .null)")

            for claimed in ["2020-01-01T09:00:00+08:00", "9999-12-31T09:00:00+08:00"] {
                #expect(try await rules.step(http, "pil.recommendation-received", by: "zz-epb", case: caseID, at: "2026-03-04T09:00:00+08:00",
                                             ["receivedAt": .string(claimed)]) == "refused time.outside-record", "receivedAt \(claimed)")
            }
            #expect(try await rules.step(http, "pil.recommendation-received", by: "zz-epb", case: caseID, at: "2026-04-01T09:00:00+08:00",
                                         ["receivedAt": "2026-04-01T09:00:00+08:00"]) == "accepted")
            let after = try await deadline(http, "zz-procuratorate", case: caseID, rule: "pil.reply", state: "running")
            #expect(after?["startedAt"] == reply?["startedAt"] && after?["dueAt"] == reply?["dueAt"], "\(after ?? .null)")

            let replay = try await CaseReplayer(store: HubStore(client: database), registry: stack.configuration.registry).replay()
            #expect(replay.isConsistent, "\(replay.mismatches) \(replay.refusedOnReplay)")
        }
    }

    /// The transfer reaches no inbox of the police (their adapter is not
    /// running): the three days to decide on filing do not run, and no
    /// overdue notice goes out however long it stays so; administrators see
    /// the clock awaiting service.
    @Test func aTransferNotDeliveredStartsNoClock() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"], arrivals: .atDeclaredTimes,
                                   configure: { $0.roles.adapters = ["zz-epb", "zz-procuratorate"] }) { (_, http, database) async throws in
            let caseID = try await rules.transferredToPolice(http, "undelivered", police: "zz-psb", procuratorate: "zz-procuratorate", number: 13)
            http.letTimePass()
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test", by: .administrator("test"))
            let (_, record) = try await http.send("GET", "/v1/cases/\(caseID)", nil, bearer: .token(admin))
            let filing = record["deadlines"]?.arrayValue?.first { $0["rule"] == "crime.police-filing-decision" }
            #expect(filing?["state"] == "awaiting-service" && filing?["stage"] == "awaiting-service", "\(filing ?? .null)")
            // Several scheduler rounds (every 200 ms here) with the clock months past the earliest due day.
            try await Task.sleep(for: .seconds(2))
            let (_, inbox) = try await http.send("GET", "/v1/agencies/zz-epb/inbox?after=0&limit=1000", nil)
            #expect(inbox["events"]?.arrayValue?.contains {
                $0["event"]?["subject"]?.stringValue == caseID && $0["event"]?["data"]?["rule"] == "crime.police-filing-decision"
            } == false)
        }
    }

    /// An administrator back-fills a paper case: its declared times drive the
    /// clocks (the organ's two months ran out long ago, so it is overdue at
    /// once and told), every event carries the import's mark in the trail,
    /// and the replay gives the same case. A dry run stores nothing; an import
    /// with an event out of turn stores nothing and names it; an agency
    /// cannot put the mark on its own events.
    @Test func anAdministratorBackfillsAPaperCase() async throws {
        try await withRunningStack(agencies: ["zz-procuratorate", "zz-epb"]) { (stack, http, database) async throws in
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test", by: .administrator("test"))
            let caseID = TestEnvironment.caseID("paper", openedBy: "zz-procuratorate")
            let history: [JSONValue] = [
                AdminAPITests.event("pil.clue-registered", by: "zz-procuratorate", case: caseID, at: "2025-01-06T09:00:00+08:00",
                                    ["clueSource": "own-discovery", "summary": "纸质案卷补录"]),
                AdminAPITests.event("pil.filed", by: "zz-procuratorate", case: caseID, at: "2025-01-07T09:00:00+08:00",
                                    ["documentNumber": "株检行公立〔2025〕3号", "agency": "zz-epb"]),
                AdminAPITests.event("pil.recommendation-issued", by: "zz-procuratorate", case: caseID, at: "2025-01-10T09:00:00+08:00", [
                    "documentNumber": "株检行公建〔2025〕3号", "agency": "zz-epb", "urgent": false, "recommendations": ["依法履职"],
                ]),
                AdminAPITests.event("pil.recommendation-received", by: "zz-epb", case: caseID, at: "2025-01-13T10:00:00+08:00",
                                    ["receivedAt": "2025-01-13T10:00:00+08:00"]),
            ]
            func importing(_ events: [JSONValue], dryRun: Bool = false) async throws -> (Int, JSONValue) {
                try await http.send("POST", "/v1/imports\(dryRun ? "?dryRun=true" : "")", .array(events), bearer: .token(admin))
            }
            func stored() async throws -> Bool { try await http.send("GET", "/v1/cases/\(caseID)", nil, bearer: .token(admin)).0 == 200 }

            let (dryStatus, dry) = try await importing(history, dryRun: true)
            #expect(dryStatus == 200 && dry["dryRun"] == true && dry["stored"] == false && dry["refused"] == [], "\(dry)")
            #expect(try await stored() == false)
            let (badStatus, bad) = try await importing([history[0], history[1], history[3]])
            #expect(badStatus == 422 && bad["refused"]?[0]?["index"] == 2 && bad["refused"]?[0]?["code"] == "transition.not-allowed", "\(bad)")
            #expect(try await stored() == false)

            let (status, report) = try await importing(history)
            #expect(status == 200 && report["stored"] == true && report["cases"] == [.string(caseID)], "\(report)")
            let importID = try #require(report["importId"]?.stringValue)
            let (_, record) = try await http.send("GET", "/v1/cases/\(caseID)", nil, bearer: .token(admin))
            let reply = record["deadlines"]?.arrayValue?.first { $0["rule"] == "pil.reply" }
            #expect(reply?["startedAt"]?.stringValue.flatMap(RFC3339.parse) == Self.instant("2025-01-13T10:00:00+08:00") && reply?["stage"] == "overdue",
                    "\(reply ?? .null)")
            try await http.waitForEvent("zz-epb", type: "casehub.hub.deadline-overdue.v1", subject: caseID)
            let (_, trail) = try await http.send("GET", "/v1/cases/\(caseID)/events", nil, bearer: .token(admin))
            let accepted = trail["events"]?.arrayValue?.filter { $0["outcome"] == "accepted" } ?? []
            #expect(accepted.count == 4 && accepted.allSatisfy { $0["body"]?[CaseMachine.importMark]?.stringValue == importID }, "\(trail)")
            let audited = try await database.query("SELECT count(*) AS n FROM case_events WHERE type = 'casehub.admin.historical-import'")
            #expect(try audited[0].decode("n", as: Int64.self) == 2)

            // The mark is the administrator's: an agency's event that carries it is refused.
            guard case .object(var forged) = AdminAPITests.event("pil.follow-up-recorded", by: "zz-procuratorate", case: caseID, at: RFC3339.format(Date()),
                                                                  ["agencyStillFailing": true, "harmContinuing": true, "findings": "仍在排放"]) else { return }
            forged[CaseMachine.importMark] = .string(importID)
            let forgedID = try await rules.openings.post(http, .object(forged), as: "zz-procuratorate")
            #expect(try await rules.openings.outcomes(http, "zz-procuratorate", for: [forgedID])[forgedID] == "refused event.import-mark")

            let replay = try await CaseReplayer(store: HubStore(client: database), registry: stack.configuration.registry).replay()
            #expect(replay.isConsistent, "\(replay.mismatches) \(replay.refusedOnReplay)")
        }
    }
}
