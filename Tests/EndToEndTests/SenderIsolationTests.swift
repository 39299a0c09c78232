import CaseModel
import Foundation
import TestSupport
import Testing

/// One agency cannot use up, probe or read another's: event ids are unique
/// per sender, a refused event's id stays the sender's to use again, and a
/// case the sender is not party to answers exactly as a case that does not
/// exist.
@Suite struct SenderIsolationTests {
    let openings = ProcedureOpeningTests()

    /// The hub's receipts in `agency`'s inbox for event `id`, oldest first.
    func receipts(_ http: HTTPClient, _ agency: String, for id: String) async throws -> [JSONValue] {
        let (_, body) = try await http.send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000", nil)
        return (body["events"]?.arrayValue ?? []).compactMap { item in
            guard item["event"]?["type"] == "casehub.hub.receipt.v1", item["event"]?["data"]?["eventId"]?.stringValue == id else { return nil }
            return item["event"]?["data"]
        }
    }

    func waitForReceipts(_ http: HTTPClient, _ agency: String, for id: String, count: Int) async throws -> [JSONValue] {
        _ = await eventually(timeout: .seconds(60)) { (try? await receipts(http, agency, for: id).count) ?? 0 >= count }
        return try await receipts(http, agency, for: id)
    }

    func withID(_ event: JSONValue, _ id: String) -> JSONValue {
        guard case .object(var fields) = event else { return event }
        fields["id"] = .string(id)
        return .object(fields)
    }

    /// A bureau uses an event id first; the court's own event under the same
    /// id is its own: accepted at the adapter and at the hub, and delivered.
    @Test func anotherAgencysEventIDsAreNotClaimable() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-court", "zz-procuratorate"]) { (_, http, _) async throws in
            let sharedID = UUID().uuidString.lowercased()
            let bureauCase = TestEnvironment.caseID("ids-bureau", openedBy: "zz-epb")
            let bureau = withID(AdminAPITests.event("referral.submitted", by: "zz-epb", case: bureauCase, at: "2026-07-01T09:00:00+08:00",
                                                    ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "某案线索"]), sharedID)
            _ = try await openings.post(http, bureau, as: "zz-epb")
            #expect(try await openings.outcomes(http, "zz-epb", for: [sharedID])[sharedID] == "accepted")

            let courtCase = TestEnvironment.caseID("ids-court", openedBy: "zz-court")
            let court = withID(AdminAPITests.event("referral.submitted", by: "zz-court", case: courtCase, at: "2026-07-01T10:00:00+08:00",
                                                   ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "审判中发现的线索"]), sharedID)
            let (status, body) = try await http.send("POST", "/v1/agencies/zz-court/events", court)
            #expect(status == 202, "the court's own id was taken by the bureau's event: \(body)")
            #expect(try await openings.outcomes(http, "zz-court", for: [sharedID])[sharedID] == "accepted")
            // The procuratorate received both: one id, two senders, two events.
            let delivered = await eventually(timeout: .seconds(30)) {
                guard let (_, inbox) = try? await http.send("GET", "/v1/agencies/zz-procuratorate/inbox?after=0&limit=1000", nil) else { return false }
                let sources = (inbox["events"]?.arrayValue ?? []).filter { $0["event"]?["id"]?.stringValue == sharedID }.compactMap { $0["event"]?["source"]?.stringValue }
                return Set(sources) == ["zz-epb", "zz-court"]
            }
            #expect(delivered, "the procuratorate did not receive both events under the shared id")
        }
    }

    /// A refused event's id is not used up: sent again it is judged again and
    /// gets a receipt again, and the corrected event may take the same id.
    @Test func aRefusedEventsIDIsNotUsedUp() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"]) { (_, http, _) async throws in
            let caseID = TestEnvironment.caseID("refused-id", openedBy: "zz-epb")
            #expect(try await ProcedureRulesTests().step(http, "crime.case-reported", by: "zz-epb", case: caseID, at: "2026-07-01T09:00:00+08:00",
                                                         ["summary": "渗坑排放"]) == "accepted")
            // A transfer before the head decided it: out of turn.
            let attachment: JSONValue = ["name": "移送书.pdf", "sha256": .string(String(repeating: "d", count: 64)), "size": 1, "mediaType": "application/pdf"]
            let early = AdminAPITests.event("crime.transferred", by: "zz-epb", case: caseID, at: "2026-07-01T10:00:00+08:00", [
                "police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "株环移〔2026〕31号",
                "materials": [["kind": "transfer-letter", "attachment": attachment]],
            ])
            let id = try await openings.post(http, early, as: "zz-epb")
            let first = try await waitForReceipts(http, "zz-epb", for: id, count: 1)
            #expect(first.first?["outcome"] == "refused" && first.first?["code"] == "transition.not-allowed", "\(first)")

            // The same event again: a second verdict, not silence.
            _ = try await openings.post(http, early, as: "zz-epb")
            let again = try await waitForReceipts(http, "zz-epb", for: id, count: 2)
            #expect(again.count == 2 && again.allSatisfy { $0["code"] == "transition.not-allowed" }, "\(again)")

            // Other content under the refused id: the decision, now in turn, is accepted.
            let decision = withID(AdminAPITests.event("crime.transfer-decided", by: "zz-epb", case: caseID, at: "2026-07-01T11:00:00+08:00",
                                                      ["decision": "transfer", "decidedBy": "局长"]), id)
            let (status, body) = try await http.send("POST", "/v1/agencies/zz-epb/events", decision)
            #expect(status == 202, "a refused event's id was used up at the adapter: \(body)")
            let third = try await waitForReceipts(http, "zz-epb", for: id, count: 3)
            #expect(third.last?["outcome"] == "accepted", "\(third)")

            // Accepted, the id is taken: other content under it now conflicts at the adapter.
            let (reuseStatus, _) = try await http.send("POST", "/v1/agencies/zz-epb/events", withID(early, id))
            #expect(reuseStatus == 409)
        }
    }

    /// A case the sender is not party to answers as a case that does not
    /// exist: the same refusal, word for word, and the same 404 for its view.
    @Test func aNonPartyLearnsNothingOfACase() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-court", "zz-procuratorate"]) { (_, http, _) async throws in
            let held = TestEnvironment.caseID("held", openedBy: "zz-epb")
            #expect(try await ProcedureRulesTests().step(http, "referral.submitted", by: "zz-epb", case: held, at: "2026-07-01T09:00:00+08:00",
                                                         ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "某案线索"]) == "accepted")
            let missing = TestEnvironment.caseID("missing", openedBy: "zz-epb")
            func refusal(on caseID: String, _ type: String, _ data: JSONValue) async throws -> JSONValue? {
                let id = try await openings.post(http, AdminAPITests.event(type, by: "zz-court", case: caseID, at: "2026-07-02T09:00:00+08:00", data), as: "zz-court")
                return try await waitForReceipts(http, "zz-court", for: id, count: 1).first
            }
            /// The receipt without what names the event itself.
            func verdict(_ receipt: JSONValue?, _ caseID: String) -> String {
                guard case .object(var fields)? = receipt else { return "no receipt" }
                fields["eventId"] = nil
                return String(decoding: JSONValue.object(fields).canonicalBytes, as: UTF8.self).replacingOccurrences(of: caseID, with: "<case>")
            }
            for (type, data) in [("referral.accepted", ["receiverNumber": "株中法受〔2026〕1号", "acceptedOn": "2026-07-02"] as JSONValue), ("case.linked", ["linkedCaseId": "other-1", "relation": "same-act"]),
                                 ("referral.returned", ["reasons": ["材料不全"], "returnedItems": [["name": "现场检查笔录", "copies": 1]]])] {
                let onHeld = try await refusal(on: held, type, data)
                let onMissing = try await refusal(on: missing, type, data)
                #expect(onHeld?["code"] == "case.unknown", "\(type): \(onHeld ?? .null)")
                #expect(verdict(onHeld, held) == verdict(onMissing, missing), "\(type)")
            }
            let (heldStatus, heldBody) = try await http.send("GET", "/v1/agencies/zz-court/cases/\(held)", nil)
            let (missingStatus, missingBody) = try await http.send("GET", "/v1/agencies/zz-court/cases/\(missing)", nil)
            #expect(heldStatus == 404 && missingStatus == 404)
            #expect(String(decoding: heldBody.canonicalBytes, as: UTF8.self).replacingOccurrences(of: held, with: "<case>")
                == String(decoding: missingBody.canonicalBytes, as: UTF8.self).replacingOccurrences(of: missing, with: "<case>"))
        }
    }

    /// Case ids are the opening agency's: the court cannot open a case under
    /// the bureau's prefix (squatting an id the bureau's system will use), nor
    /// under none; the refusal is the same whether the case exists or not, and
    /// the bureau then opens its case under that id.
    @Test func caseIDsCannotBeSquatted() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-court", "zz-procuratorate"]) { (_, http, _) async throws in
            let bureaus = TestEnvironment.caseID("squatted", openedBy: "zz-epb")
            let existing = TestEnvironment.caseID("existing", openedBy: "zz-epb")
            let referral: JSONValue = ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "抢注的案件标识"]
            let rules = ProcedureRulesTests()
            #expect(try await rules.step(http, "referral.submitted", by: "zz-epb", case: existing, at: "2026-07-01T09:00:00+08:00", referral) == "accepted")
            for target in [bureaus, existing, TestEnvironment.uniqueName("bare")] {
                let id = try await openings.post(http, AdminAPITests.event("referral.submitted", by: "zz-court", case: target, at: "2026-07-01T10:00:00+08:00", referral),
                                                 as: "zz-court")
                let receipt = try await waitForReceipts(http, "zz-court", for: id, count: 1).first
                #expect(receipt?["code"] == "case.id-namespace", "\(target): \(receipt ?? .null)")
                #expect(receipt?["reason"]?.stringValue?.contains("zz-court:") == true, "\(receipt ?? .null)")
            }
            #expect(try await rules.step(http, "referral.submitted", by: "zz-epb", case: bureaus, at: "2026-07-01T11:00:00+08:00", referral) == "accepted")
        }
    }
}
