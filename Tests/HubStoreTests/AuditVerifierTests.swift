import CaseModel
import Foundation
@testable import HubStore
import Logging
import Postgres
import TestSupport
import Testing

/// The verifier against the test database: rows hashed in the canonical
/// format of before, and a trail with more breaks than it lists.
@Suite struct AuditVerifierTests {
    let logger = Logger(label: "test.audit-verifier")

    func migratedClient() async throws -> PostgresClient {
        try await TestDatabase.migrated("verifier", logger: logger)
    }

    /// Rows written as a hub before canonical format 2 wrote them (no
    /// `hash_format`: the migration's default, 1), with the numbers whose
    /// text differs between the formats: after the upgrade they verify as
    /// before, including the doubles of 1e16 and more that format 1 wrote in
    /// exponent form and jsonb gives back in digits.
    @Test func rowsHashedInFormatOneStillVerify() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let caseID = "format-one"
        let shard = AuditShards.shard(of: AuditShards.key(caseID: caseID, source: "zz-epb"), count: try await HubStore(client: client).auditShards())
        let bodies: [JSONValue] = [
            ["amount": .number(1e-5)],                    // 1e-05, now 0.00001
            ["amount": .number(1.5e-7)],                  // 1.5e-07, now 1.5e-7
            ["amount": .number(1e15)],                    // 1000000000000000.0, now 1000000000000000
            ["amount": .number(1e19)],                    // 1e+19, now 10000000000000000000
            ["amount": .number(1e16), "count": 7],        // 1e+16: jsonb gives 10000000000000000
            ["amounts": [.number(-2.5e17), .integer(3)]], // -2.5e+17 likewise, in an array
            ["amount": .integer(12), "rate": .number(0.125)],
        ]
        var previous = AuditChain.genesis
        let time = Date(timeIntervalSince1970: 1_764_000_000)
        for (index, body) in bodies.enumerated() {
            let entry = AuditEntry(shard: shard, seq: Int64(index + 1), eventID: UUID().uuidString, caseID: caseID, outcome: .accepted,
                                   type: "casehub.compensation.assessment-completed.v1", source: "zz-epb", occurredAt: time, recordedAt: time,
                                   caseVersion: Int64(index + 1), body: body, format: .legacy)
            let hash = AuditChain.hash(previous: previous, entry: entry)
            try await client.execute("""
                INSERT INTO case_events (shard, shard_seq, event_id, case_id, outcome, type, source, occurred_at, recorded_at, case_version,
                                         body, prev_hash, hash)
                VALUES (\(Int32(shard)), \(entry.seq), \(entry.eventID), \(caseID), 'accepted', \(entry.type), 'zz-epb', \(time), \(time),
                        \(entry.caseVersion), \(PostgresJSON(bytes: entry.bodyBytes)), \(previous), \(hash))
                """)
            previous = hash
        }
        try await client.execute("UPDATE audit_shards SET seq = \(Int64(bodies.count)), hash = \(previous) WHERE shard = \(Int32(shard))")
        #expect(try await client.query("SELECT count(*) AS n FROM case_events WHERE hash_format = 1")[0].decode("n", as: Int64.self) == 7)
        #expect(try await client.query("SELECT body::text AS b FROM case_events WHERE shard_seq = 5")[0].decode("b", as: String.self)
                == #"{"count": 7, "amount": 10000000000000000}"#)

        let verifier = AuditVerifier(client: client)
        let report = try await verifier.verifyAll()
        #expect(report.isIntact && report.checked == 7, "\(report.breaks)")
        #expect(try await verifier.verifyCase(caseID).isIntact)

        // An integer that is the same double but not what was stored does not pass for it.
        try await client.execute("UPDATE case_events SET body = '{\"count\": 7, \"amount\": 10000000000000001}' WHERE shard = \(Int32(shard)) AND shard_seq = 5")
        let tampered = try await verifier.verifyAll()
        #expect(tampered.breakCount == 1 && tampered.breaks.first?.position == 5 && tampered.breaks.first?.problem.contains("content changed") == true,
                "\(tampered.breaks)")
    }

    /// More breaks than are listed: all are counted, by chain, and the first
    /// ones listed; the walk does not stop at the listing's end.
    @Test func everyBreakIsCountedAndTheFirstAreListed() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let store = HubStore(client: client)
        let time = Date(timeIntervalSince1970: 1_764_000_000)
        let cases = (0..<60).map { "many-\($0)" }
        try await store.withTransaction { transaction in
            for caseID in cases {
                transaction.appendAudit(eventID: UUID().uuidString, caseID: caseID, outcome: .accepted, type: "casehub.referral.submitted.v1",
                                        source: "zz-epb", occurredAt: time, recordedAt: time, caseVersion: 1,
                                        body: ["data": ["amount": .number(1e16)]])
            }
        }
        let verifier = AuditVerifier(client: client)
        #expect(try await verifier.verifyAll().isIntact)

        // Every row changed, and the last row of one chain deleted (its head no longer matches).
        try await client.execute("UPDATE case_events SET source = 'zz-psb'")
        let last = try await client.query("SELECT shard, shard_seq FROM case_events ORDER BY seq DESC LIMIT 1")[0]
        let lastShard = Int(try last.decode("shard", as: Int32.self))
        try await client.execute("DELETE FROM case_events WHERE shard = \(Int32(lastShard)) AND shard_seq = \(try last.decode("shard_seq", as: Int64.self))")
        let shards = try await client.query("SELECT DISTINCT shard FROM audit_shards WHERE seq > 0").map { Int(try $0.decode("shard", as: Int32.self)) }

        let report = try await verifier.verifyAll()
        #expect(report.checked == 59)
        #expect(report.breakCount == 60, "59 changed rows and one chain's end")
        #expect(report.breaks.count == 50 && report.unlisted == 10)
        #expect(report.chainsChecked == AuditShards.defaultCount)
        #expect(Set(report.brokenChains.map(\.shard)) == Set(shards.map(Optional.some)))
        #expect(report.brokenChains.map(\.breaks).reduce(0, +) == 60)
        #expect(report.brokenChains.contains { $0.shard == lastShard && $0.description.contains("chain \(lastShard): ") })

        let few = try await verifier.verifyAll(listing: 5)
        #expect(few.breakCount == 60 && few.breaks == Array(report.breaks.prefix(5)))
        let all = try await verifier.verifyAll(listing: 1_000)
        #expect(all.breaks.count == 60 && all.unlisted == 0)
        #expect(all.breaks.contains { $0.shard == lastShard && $0.problem.contains("head records") })
    }
}
