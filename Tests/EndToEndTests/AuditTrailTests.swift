import CaseHubServer
import CaseModel
import Foundation
import Hub
@testable import HubStore
import Postgres
import Testing
import TestSupport

/// The audit trail detects tampering, and the live state can be rebuilt from it.
@Suite(.serialized)
struct AuditTrailTests {
    /// Three referral cases, each submitted then accepted, then a refused
    /// event: seq 1…6 alternate submitted/accepted, seq 7 is the refusal.
    func populate(_ http: HTTPClient) async throws {
        for index in 1...3 {
            let event: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-epb",
                "type": "casehub.referral.submitted.v1", "time": "2026-11-29T08:00:00+08:00", "subject": .string("audit-\(index)"),
                "data": .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": .string("第\(index)件")]),
            ])
            _ = try await http.send("POST", "/v1/agencies/zz-epb/events", event)
            // Before the procuratorate answers, its copy of the referral has arrived
            // (its inbox so far: each earlier case's referral and receipt, and this referral).
            _ = try await http.waitForInbox("zz-procuratorate", count: 2 * index - 1)
            let accepted: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-procuratorate",
                "type": "casehub.referral.accepted.v1", "time": "2026-11-29T09:00:00+08:00", "subject": .string("audit-\(index)"),
                "data": .object(["receiverNumber": .string("株检受〔2026〕\(index)号"), "acceptedOn": "2026-11-29"]),
            ])
            _ = try await http.send("POST", "/v1/agencies/zz-procuratorate/events", accepted)
            // The bureau's inbox: a receipt for its referral, then the acceptance.
            _ = try await http.waitForInbox("zz-epb", count: 2 * index)
        }
        // zz-court is no party: refused, and recorded as refused.
        let refused: JSONValue = .object([
            "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-court",
            "type": "casehub.referral.concluded.v1", "time": "2026-11-29T10:00:00+08:00", "subject": "audit-1",
            "data": .object(["outcome": "x"]),
        ])
        _ = try await http.send("POST", "/v1/agencies/zz-court/events", refused)
        _ = try await http.waitForInbox("zz-court", count: 1)
    }

    @Test func aCleanTrailVerifiesAndReplaysToTheLiveState() async throws {
        try await withRunningStack { stack, http, database in
            try await populate(http)
            let report = try await AuditVerifier(client: database).verifyAll()
            #expect(report.isIntact, "\(report.breaks)")
            #expect(report.checked == 7)
            #expect(try await AuditVerifier(client: database).verifyCase("audit-2").isIntact)
            let replay = try await CaseReplayer(store: HubStore(client: database), registry: stack.configuration.registry).replay()
            #expect(replay.isConsistent, "\(replay.mismatches) \(replay.refusedOnReplay)")
            #expect(replay.eventsReplayed == 6 && replay.casesRebuilt == 3, "\(replay)")
            // A live state that no longer follows from the trail is reported.
            try await database.execute("UPDATE cases SET state = jsonb_set(state, '{status}', '\"concluded\"') WHERE id = 'audit-3'")
            let drifted = try await CaseReplayer(store: HubStore(client: database), registry: stack.configuration.registry).replay()
            #expect(drifted.mismatches == ["audit-3"])
        }
    }

    @Test func everyKindOfTamperingIsFoundWhereItHappened() async throws {
        try await withRunningStack { _, http, database in
            try await populate(http)
            let verifier = AuditVerifier(client: database)
            let seqs = try await database.query("SELECT seq, case_id FROM case_events ORDER BY seq")
            #expect(seqs.count == 7)

            // Changed: a word in a payload.
            try await database.execute("UPDATE case_events SET body = jsonb_set(body, '{data,summary}', '\"改过\"') WHERE seq = 1")
            var report = try await verifier.verifyAll()
            #expect(report.breaks.map(\.seq) == [1] && report.breaks[0].problem.contains("content changed"))
            #expect(try await verifier.verifyCase("audit-1").breaks.contains { $0.seq == 1 })
            try await database.execute("UPDATE case_events SET body = jsonb_set(body, '{data,summary}', '\"第1件\"') WHERE seq = 1")
            #expect(try await verifier.verifyAll().isIntact)

            // Deleted: a row in the middle.
            let saved = try await database.query("SELECT * FROM case_events WHERE seq = 3")
            try await database.execute("DELETE FROM case_events WHERE seq = 3")
            report = try await verifier.verifyAll()
            #expect(report.breaks.contains { $0.seq == 3 && $0.problem.contains("missing") })
            #expect(report.breaks.contains { $0.seq == 4 && $0.problem.contains("does not follow") })
            #expect(!(try await verifier.verifyCase("audit-2").isIntact))
            _ = saved

            // Reordered: two rows swap places.
            try await database.execute("UPDATE case_events SET seq = -5 WHERE seq = 5")
            try await database.execute("UPDATE case_events SET seq = 5 WHERE seq = 6")
            try await database.execute("UPDATE case_events SET seq = 6 WHERE seq = -5")
            report = try await verifier.verifyAll()
            #expect(report.breaks.contains { $0.seq == 5 })

            // Deleted at the end: the head no longer matches.
            try await database.execute("DELETE FROM case_events WHERE seq = 7")
            report = try await verifier.verifyAll()
            #expect(report.breaks.contains { $0.problem.contains("head records seq 7") })
        }
    }

    @Test func anInsertedRowIsFound() async throws {
        try await withRunningStack { _, http, database in
            try await populate(http)
            // A forged row slipped in after seq 2, its own hash computed correctly:
            // the row after it no longer follows.
            let second = try await database.query("\(unsafeSQL: AuditVerifier.select) WHERE seq = 2")
            let (entry, _, hash) = try AuditVerifier.entry(from: second[0])
            var forged = entry
            forged.seq = 3
            forged.eventID = "forged"
            let forgedHash = AuditChain.hash(previous: hash, entry: forged)
            try await database.execute("UPDATE case_events SET seq = seq + 100 WHERE seq >= 3")
            try await database.execute("""
                INSERT INTO case_events (seq, event_id, case_id, outcome, type, source, occurred_at, recorded_at, case_version, body, prev_hash, hash)
                SELECT 3, 'forged', case_id, outcome, type, source, occurred_at, recorded_at, case_version, body, hash, \(forgedHash)
                FROM case_events WHERE seq = 2
                """)
            try await database.execute("UPDATE case_events SET seq = seq - 99 WHERE seq >= 103")
            let report = try await AuditVerifier(client: database).verifyAll()
            #expect(!report.breaks.contains { $0.seq == 3 }, "\(report.breaks)")
            #expect(report.breaks.contains { $0.seq == 4 && $0.problem.contains("does not follow") }, "\(report.breaks)")
        }
    }

    @Test func theCommandLineReportsTheBreak() async throws {
        try await withRunningStack { stack, http, database in
            try await populate(http)
            var environment = ProcessInfo.processInfo.environment
            environment["CASEHUB_DATABASE_URL"] = stack.configuration.databaseURL
            let clean = try CommandLineTests().run(["audit", "verify"], environment: environment)
            #expect(clean.status == 0 && clean.output.contains("audit trail intact: 7 record(s) checked"), "\(clean.output)")
            let replay = try CommandLineTests().run(["replay"], environment: environment)
            #expect(replay.status == 0 && replay.output.contains("live state matches the audit trail"), "\(replay.output)")
            try await database.execute("UPDATE case_events SET source = 'zz-psb' WHERE seq = 4")
            let broken = try CommandLineTests().run(["audit", "verify"], environment: environment)
            #expect(broken.status == 1)
            #expect(broken.output.contains("seq 4") && broken.output.contains("content changed"), "\(broken.output)")
        }
    }
}
