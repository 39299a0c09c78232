import Adapters
import CaseHubServer
import CaseModel
import Foundation
import HubStore
import Postgres
import TestSupport
import Testing

/// Who may use an adapter's paths, ids as promises about content, and the
/// agency's view of a case. Real stack, real HTTP.
@Suite(.serialized)
struct AdapterAccessTests {
    static func referral(id: String = UUID().uuidString.lowercased(), caseID: String, summary: String = "渌江排污线索") -> JSONValue {
        .object([
            "specversion": "1.0", "id": .string(id), "source": "zz-epb",
            "type": "casehub.referral.submitted.v1", "time": "2026-11-29T08:00:00+08:00", "subject": .string(caseID),
            "data": .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": .string(summary)]),
        ])
    }

    @Test func everyPathNeedsTheAgencysOwnToken() async throws {
        try await withRunningStack { _, http, database in
            let event = Self.referral(caseID: "zz-epb:case-auth-1")
            // No token, a malformed header, an unknown token: 401, nothing submitted.
            let (missing, missingBody) = try await http.send("POST", "/v1/agencies/zz-epb/events", event, bearer: .none)
            #expect(missing == 401)
            #expect(missingBody["title"] == "Unauthorized")
            #expect(try await http.send("GET", "/v1/agencies/zz-epb/inbox", nil, bearer: .token("chub_not-a-token")).0 == 401)
            // Another agency's token: 403 on every path.
            let epbToken = try #require(http.tokens["zz-epb"])
            #expect(try await http.send("POST", "/v1/agencies/zz-procuratorate/events", event, bearer: .token(epbToken)).0 == 403)
            #expect(try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox", nil, bearer: .token(epbToken)).0 == 403)
            #expect(try await http.send("POST", "/v1/agencies/zz-procuratorate/inbox/ack", ["cursor": 1], bearer: .token(epbToken)).0 == 403)
            #expect(try await http.send("GET", "/v1/agencies/zz-procuratorate/cases/zz-epb:case-auth-1", nil, bearer: .token(epbToken)).0 == 403)
            #expect(try await database.query("SELECT 1 FROM adapter_submissions").isEmpty)

            // A revoked token stops working; a new one works.
            try await AgencyTokenStore(client: database).revoke(agency: "zz-epb", by: .administrator("test"))
            #expect(try await http.send("GET", "/v1/agencies/zz-epb/inbox", nil).0 == 401)
            let fresh = try await AgencyTokenStore(client: database).issue(agency: "zz-epb", by: .administrator("test"))
            #expect(try await http.send("GET", "/v1/agencies/zz-epb/inbox", nil, bearer: .token(fresh)).0 == 200)
            // Only a hash is stored.
            let stored = try await database.query("SELECT count(*) FROM agency_tokens WHERE encode(token_hash, 'escape') LIKE '%chub_%'")
            #expect(try stored[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test func anIdIsAPromiseAboutContent() async throws {
        try await withRunningStack { _, http, database in
            let id = UUID().uuidString.lowercased()
            let event = Self.referral(id: id, caseID: "zz-epb:case-409")
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", event).0 == 202)
            // The same again: accepted (a retry), and the hub applies it once.
            let (again, againBody) = try await http.send("POST", "/v1/agencies/zz-epb/events", event)
            #expect(again == 202)
            #expect(againBody["accepted"] == .array([.string(id)]))
            // The same id with other content: 409 naming the id; a batch holding it publishes nothing.
            let changed = Self.referral(id: id, caseID: "zz-epb:case-409", summary: "另一条线索")
            let (conflict, problem) = try await http.send("POST", "/v1/agencies/zz-epb/events", changed)
            #expect(conflict == 409)
            #expect(problem["violations"]?[0]?["path"] == "/id")
            let innocent = Self.referral(caseID: "zz-epb:case-409-b")
            let (batchConflict, batchProblem) = try await http.send("POST", "/v1/agencies/zz-epb/events", .array([innocent, changed]))
            #expect(batchConflict == 409)
            #expect(batchProblem["violations"]?[0]?["path"] == "/1/id")
            // The refused batch recorded nothing: its other id is still free.
            let innocentID = try #require(innocent["id"]?.stringValue)
            let (free, _) = try await http.send("POST", "/v1/agencies/zz-epb/events",
                                                Self.referral(id: innocentID, caseID: "zz-epb:case-409-c"))
            #expect(free == 202)

            _ = try await http.waitForInbox("zz-procuratorate", count: 1)
            #expect(await eventually { (try? await HubStore(client: database).outboxBacklog().count) == 0 })
            let applied = try await database.query("SELECT count(*) FROM case_events WHERE event_id = \(id)")
            #expect(try applied[0].decode(0, as: Int.self) == 1)
            let innocentApplied = try await database.query("SELECT count(*) FROM cases WHERE id = 'zz-epb:case-409-b'")
            #expect(try innocentApplied[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test func anAgencySeesOnlyCasesItIsPartyTo() async throws {
        try await withRunningStack { _, http, _ in
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", Self.referral(caseID: "zz-epb:case-view-1")).0 == 202)
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: "zz-epb:case-view-1")

            let (status, view) = try await http.send("GET", "/v1/agencies/zz-procuratorate/cases/zz-epb:case-view-1", nil)
            #expect(status == 200)
            #expect(view["caseId"] == "zz-epb:case-view-1")
            #expect(view["status"] == "submitted")
            #expect(view["parties"] == ["zz-epb", "zz-procuratorate"])
            #expect(try await http.send("GET", "/v1/agencies/zz-epb/cases/zz-epb:case-view-1", nil).0 == 200)

            // Not a party, or no such case: the same 404, no hint which.
            let (hidden, hiddenBody) = try await http.send("GET", "/v1/agencies/zz-court/cases/zz-epb:case-view-1", nil)
            let (absent, absentBody) = try await http.send("GET", "/v1/agencies/zz-court/cases/case-none", nil)
            #expect(hidden == 404 && absent == 404)
            #expect(hiddenBody["title"] == absentBody["title"])
        }
    }

    @Test func aKeyRotatedWhileTheAdapterRunsIsUsedAtOnce() async throws {
        var keyDirectory = ""
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], configure: { keyDirectory = $0.keyDirectory! }) { _, http, database in
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", Self.referral(caseID: "zz-epb:case-rotate-1")).0 == 202)
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: "zz-epb:case-rotate-1")
            _ = try await SigningKeys.rotate(agency: "zz-epb", directory: URL(fileURLWithPath: keyDirectory), store: AgencyKeyStore(client: database), by: .administrator("test"))
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", Self.referral(caseID: "zz-epb:case-rotate-2")).0 == 202)
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: "zz-epb:case-rotate-2")
            let refused = try await database.query("SELECT count(*) FROM rejections")
            #expect(try refused[0].decode(0, as: Int.self) == 0)
        }
    }

    @Test func unacknowledgedDeliveriesSurviveARestartAndAcknowledgedOnesDoNotReturn() async throws {
        let identity = try await StackIdentity.fresh()
        let agencies: [AgencyID] = ["zz-epb", "zz-procuratorate"]
        func inboxSubjects(_ http: HTTPClient) async throws -> [String] {
            let (_, body) = try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox?wait=2", nil)
            return body["events"]?.arrayValue?.compactMap { $0["event"]?["subject"]?.stringValue } ?? []
        }
        try await withRunningStack(agencies: agencies, identity: identity) { _, http, _ in
            // One after the other: two cases' events have no order between them, and an
            // acknowledgement covers every delivery up to its cursor.
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", Self.referral(caseID: "zz-epb:case-restart-a")).0 == 202)
            let first = try #require(try await http.waitForInbox("zz-procuratorate", count: 1).first?["cursor"])
            #expect(try await http.send("POST", "/v1/agencies/zz-procuratorate/inbox/ack", ["cursor": first]).0 == 200)
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", Self.referral(caseID: "zz-epb:case-restart-b")).0 == 202)
            let delivered = try await http.waitForInbox("zz-procuratorate", count: 2)
            #expect(delivered.map { $0["event"]?["subject"] } == ["zz-epb:case-restart-a", "zz-epb:case-restart-b"])
        }
        // Restarted: the unacknowledged delivery is offered again, the acknowledged one is not.
        try await withRunningStack(agencies: agencies, identity: identity) { _, http, _ in
            #expect(try await inboxSubjects(http) == ["zz-epb:case-restart-b"])
            let (_, body) = try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox", nil)
            let cursor = try #require(body["nextCursor"])
            #expect(try await http.send("POST", "/v1/agencies/zz-procuratorate/inbox/ack", ["cursor": cursor]).0 == 200)
        }
        try await withRunningStack(agencies: agencies, identity: identity) { _, http, _ in
            let subjects = try await inboxSubjects(http)
            #expect(subjects.isEmpty)
        }
    }
}
