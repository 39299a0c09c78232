import CaseHubServer
import CaseModel
import Crypto
import Foundation
import Hub
import Logging
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
                "type": "casehub.referral.submitted.v1", "time": "2026-11-29T08:00:00+08:00", "subject": .string("zz-epb:audit-\(index)"),
                "data": .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": .string("第\(index)件")]),
            ])
            _ = try await http.send("POST", "/v1/agencies/zz-epb/events", event)
            // Before the procuratorate answers, its copy of the referral has arrived
            // (its inbox so far: each earlier case's referral and receipt, and this referral).
            _ = try await http.waitForInbox("zz-procuratorate", count: 2 * index - 1)
            let accepted: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-procuratorate",
                "type": "casehub.referral.accepted.v1", "time": "2026-11-29T09:00:00+08:00", "subject": .string("zz-epb:audit-\(index)"),
                "data": .object(["receiverNumber": .string("株检受〔2026〕\(index)号"), "acceptedOn": "2026-11-29"]),
            ])
            _ = try await http.send("POST", "/v1/agencies/zz-procuratorate/events", accepted)
            // The bureau's inbox: a receipt for its referral, then the acceptance.
            _ = try await http.waitForInbox("zz-epb", count: 2 * index)
        }
        // zz-court is no party: refused, and recorded as refused.
        let refused: JSONValue = .object([
            "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-court",
            "type": "casehub.referral.concluded.v1", "time": "2026-11-29T10:00:00+08:00", "subject": "zz-epb:audit-1",
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
            // The seven, and the stack's own administrator actions (tokens issued, keys approved).
            #expect(report.checked == 7 + (try await administratorEntries(database)))
            #expect(try await AuditVerifier(client: database).verifyCase("zz-epb:audit-2").isIntact)
            let replay = try await CaseReplayer(store: HubStore(client: database), registry: stack.configuration.registry).replay()
            #expect(replay.isConsistent, "\(replay.mismatches) \(replay.refusedOnReplay)")
            #expect(replay.eventsReplayed == 6 && replay.casesRebuilt == 3, "\(replay)")
            // A live state that no longer follows from the trail is reported.
            try await database.execute("UPDATE cases SET state = jsonb_set(state, '{status}', '\"concluded\"') WHERE id = 'zz-epb:audit-3'")
            let drifted = try await CaseReplayer(store: HubStore(client: database), registry: stack.configuration.registry).replay()
            #expect(drifted.mismatches == ["zz-epb:audit-3"])
        }
    }

    /// The administrator actions in the trail (the stack's tokens and key approvals among them).
    func administratorEntries(_ database: PostgresClient) async throws -> Int {
        Int(try await database.query("SELECT count(*) AS n FROM case_events WHERE outcome = 'admin'")[0].decode("n", as: Int64.self))
    }

    /// A case's rows in its audit chain: global seq, chain, position.
    func chain(of caseID: String, _ database: PostgresClient) async throws -> [(seq: Int64, shard: Int32, position: Int64)] {
        try await database.query("""
            SELECT seq, shard, shard_seq FROM case_events
            WHERE shard = (SELECT shard FROM case_events WHERE case_id = \(caseID) LIMIT 1) ORDER BY shard_seq
            """).map { (try $0.decode("seq"), try $0.decode("shard"), try $0.decode("shard_seq")) }
    }

    @Test func everyKindOfTamperingIsFoundWhereItHappened() async throws {
        try await withRunningStack { _, http, database in
            try await populate(http)
            let verifier = AuditVerifier(client: database)
            #expect(try await database.query("SELECT seq FROM case_events WHERE outcome <> 'admin'").count == 7)
            // audit-1's chain holds at least its submission, acceptance and the refusal.
            let first = try await chain(of: "zz-epb:audit-1", database)
            #expect(first.count >= 3)

            // Changed: a word in a payload.
            try await database.execute("UPDATE case_events SET body = jsonb_set(body, '{data,summary}', '\"改过\"') WHERE seq = \(first[0].seq)")
            var report = try await verifier.verifyAll()
            #expect(report.breaks.map(\.seq) == [first[0].seq] && report.breaks[0].problem.contains("content changed"), "\(report.breaks)")
            #expect(try await verifier.verifyCase("zz-epb:audit-1").breaks.contains { $0.seq == first[0].seq })
            try await database.execute("UPDATE case_events SET body = jsonb_set(body, '{data,summary}', '\"第1件\"') WHERE seq = \(first[0].seq)")
            #expect(try await verifier.verifyAll().isIntact)

            // Deleted: a row in the middle of a chain; the row after it no longer follows.
            try await database.execute("DELETE FROM case_events WHERE seq = \(first[1].seq)")
            report = try await verifier.verifyAll()
            #expect(report.breaks.contains { $0.seq == first[2].seq && $0.position == first[1].position && $0.problem.contains("missing") }, "\(report.breaks)")
            #expect(report.breaks.contains { $0.seq == first[2].seq && $0.problem.contains("does not follow") }, "\(report.breaks)")
            #expect(!(try await verifier.verifyCase("zz-epb:audit-1").isIntact))

            // Reordered: two rows of another chain swap places.
            let second = try await chain(of: "zz-epb:audit-2", database)
            try #require(second[0].shard != first[0].shard, "audit-1 and audit-2 are in different chains")
            try await database.execute("UPDATE case_events SET shard_seq = -1 WHERE seq = \(second[0].seq)")
            try await database.execute("UPDATE case_events SET shard_seq = \(second[0].position) WHERE seq = \(second[1].seq)")
            try await database.execute("UPDATE case_events SET shard_seq = \(second[1].position) WHERE seq = \(second[0].seq)")
            report = try await verifier.verifyAll()
            #expect(report.breaks.contains { $0.shard == Int(second[0].shard) && $0.seq == second[1].seq }, "\(report.breaks)")

            // Deleted at the end of a chain: its head no longer matches.
            let third = try await chain(of: "zz-epb:audit-3", database)
            try await database.execute("DELETE FROM case_events WHERE seq = \(third.last!.seq)")
            report = try await verifier.verifyAll()
            #expect(report.breaks.contains { $0.shard == Int(third[0].shard) && $0.problem.contains("head records #\(third.last!.position)") }, "\(report.breaks)")
        }
    }

    @Test func anInsertedRowIsFound() async throws {
        try await withRunningStack { _, http, database in
            try await populate(http)
            // A forged row slipped in after audit-1's first row, its own hash
            // computed correctly: the row after it no longer follows.
            let rows = try await chain(of: "zz-epb:audit-1", database)
            let first = try await database.query("\(unsafeSQL: AuditVerifier.select) WHERE seq = \(rows[0].seq)")
            let (entry, _, hash, _) = try AuditVerifier.entry(from: first[0])
            var forged = entry
            forged.seq = 2
            forged.eventID = "forged"
            let forgedHash = AuditChain.hash(previous: hash, entry: forged)
            try await database.execute("UPDATE case_events SET shard_seq = shard_seq + 100 WHERE shard = \(rows[0].shard) AND shard_seq >= 2")
            try await database.execute("""
                INSERT INTO case_events (shard, shard_seq, event_id, case_id, outcome, type, source, occurred_at, recorded_at, case_version, body,
                                         hash_format, prev_hash, hash)
                SELECT shard, 2, 'forged', case_id, outcome, type, source, occurred_at, recorded_at, case_version, body, hash_format, hash, \(forgedHash)
                FROM case_events WHERE seq = \(rows[0].seq)
                """)
            try await database.execute("UPDATE case_events SET shard_seq = shard_seq - 99 WHERE shard = \(rows[0].shard) AND shard_seq >= 102")
            let report = try await AuditVerifier(client: database).verifyAll()
            #expect(!report.breaks.contains { $0.position == 2 && $0.shard == Int(rows[0].shard) }, "\(report.breaks)")
            #expect(report.breaks.contains { $0.seq == rows[1].seq && $0.problem.contains("does not follow") }, "\(report.breaks)")
        }
    }

    /// Someone with write access to PostgreSQL rewrites a whole chain and
    /// recomputes every hash: the chain verifies, but the hub's signed
    /// checkpoints, kept outside the database, expose it — from Kafka, and
    /// from a file an auditor exported, through the command line.
    @Test func aConsistentRewriteIsCaughtByTheSignedCheckpoints() async throws {
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("hub-key")).path
        try await withRunningStack(configure: {
            $0.hubKeyFile = keyFile
            $0.checkpointInterval = .milliseconds(200)
        }) { stack, http, database in
            try await populate(http)
            let feed = CheckpointFeed(kafka: stack.configuration.kafka, topic: stack.configuration.topics.checkpoints, logger: Logger(label: "test"))
            // The stack's checkpoint writer signs the heads once they cover all seven rows (and the
            // stack's administrator actions); its relay publishes it.
            let entries = 7 + (try await administratorEntries(database))
            var covering: AuditCheckpoint.Signed?
            #expect(await eventually {
                covering = (try? await feed.readAll())?.last { $0.checkpoint.heads.map(\.seq).reduce(0, +) == entries }
                return covering != nil
            })
            let signed = try #require(covering)
            let key = try HubSigningKey.load(at: keyFile)
            #expect(signed.checkpoint.isSigned(signed.signature, by: key.publicKey))
            #expect(!signed.checkpoint.isSigned(signed.signature, by: Curve25519.Signing.PrivateKey().publicKey))
            let store = HubStore(client: database)
            #expect(try await store.disagreements(with: signed.checkpoint).isEmpty)

            // The rewrite: audit-2's first row says something else, and every
            // hash of its chain, and the chain's head, are recomputed.
            let rows = try await chain(of: "zz-epb:audit-2", database)
            var previous = AuditChain.genesis
            for (index, row) in rows.enumerated() {
                let read = try await database.query("\(unsafeSQL: AuditVerifier.select) WHERE seq = \(row.seq)")
                var (entry, _, _, _) = try AuditVerifier.entry(from: read[0])
                if index == 0 {
                    entry.body = JSONValue.object(entry.body.objectValue!.merging(
                        ["data": ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "从未发生"]]) { $1 })
                    entry.bodyBytes = entry.body.canonicalBytes
                }
                let hash = AuditChain.hash(previous: previous, entry: entry)
                try await database.execute("""
                    UPDATE case_events SET body = \(PostgresJSON(entry.body.canonicalString)), prev_hash = \(previous), hash = \(hash)
                    WHERE seq = \(row.seq)
                    """)
                previous = hash
            }
            try await database.execute("UPDATE audit_shards SET hash = \(previous) WHERE shard = \(rows[0].shard)")
            #expect(try await AuditVerifier(client: database).verifyAll().isIntact, "the rewrite is consistent: the chain alone cannot tell")
            let found = try await store.disagreements(with: signed.checkpoint)
            #expect(found.count == 1 && found[0].contains("chain \(rows[0].shard)") && found[0].contains("rewritten"), "\(found)")

            // The auditor's way: export from Kafka, verify against the file with the hub's public key.
            var environment = ProcessInfo.processInfo.environment
            environment["CASEHUB_DATABASE_URL"] = stack.configuration.databaseURL
            environment["CASEHUB_ADMIN_DATABASE_URL"] = stack.configuration.databaseURL(for: .admin)
            environment["CASEHUB_KAFKA_BROKERS"] = TestEnvironment.kafkaBrokers
            environment["CASEHUB_TOPIC_PREFIX"] = stack.configuration.topics.prefix
            let exported = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("checkpoints")).path
            let export = try CommandLineTests().run(["audit", "export-checkpoints", exported], environment: environment)
            #expect(export.status == 0, "\(export.output)")
            let publicKey = key.publicKey.rawRepresentation.base64EncodedString()
            let verify = try CommandLineTests().run(["audit", "verify", "--checkpoints", exported, "--hub-public-key", publicKey], environment: environment)
            #expect(verify.status == 1 && verify.output.contains("rewritten"), "\(verify.output)")
            let stranger = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
            let untrusted = try CommandLineTests().run(["audit", "verify", "--checkpoints", exported, "--hub-public-key", stranger], environment: environment)
            #expect(untrusted.status == 1 && untrusted.output.contains("not signed by this hub key"), "\(untrusted.output)")
        }
    }

    /// Amounts spelled every which way go through the adapter, the broker,
    /// the hub and PostgreSQL's jsonb (which respells them: `1e16` comes back
    /// as `10000000000000000`, `-0.0` as `0.0`), and the chains verify: the
    /// bytes hashed when writing are the bytes made again when verifying.
    @Test func exoticNumbersKeepTheChainIntact() async throws {
        let amounts = ["1e16", "1.5e-7", "100.0", "-0.0", "1e21", "123456789012345680000", "0.1", "1E-5", "9007199254740993e0",
                       "1000000000000000.0", "2.5e17", "1.7976931348623157e308", "5e-324"]
        try await withRunningStack { stack, http, database in
            var caseIDs: [String] = []
            for (index, amount) in amounts.enumerated() {
                let caseID = TestEnvironment.caseID("amount-\(index)", openedBy: "zz-epb")
                caseIDs.append(caseID)
                // Raw text: the amount arrives spelled as written here.
                let text = #"{"specversion":"1.0","id":"\#(UUID().uuidString.lowercased())","source":"zz-epb","#
                    + #""type":"casehub.compensation.assessment-completed.v1","time":"2026-07-01T10:00:00+08:00","subject":"\#(caseID)","#
                    + #""data":{"reportNumber":"湘环评估〔2026〕\#(index + 1)号","damageAmount":\#(amount)}}"#
                let (status, body) = try await http.sendRaw("POST", "/v1/agencies/zz-epb/events", Array(text.utf8))
                #expect(status == 202, "\(amount): \(body)")
            }
            let stored: () async throws -> [String: String] = {
                var found: [String: String] = [:]
                for row in try await database.query("""
                    SELECT case_id, body->'data'->>'damageAmount' AS amount FROM case_events
                    WHERE outcome = 'accepted' AND case_id = ANY(\(PostgresArray(elements: caseIDs))::text[])
                    """) {
                    found[try row.decode("case_id")] = try row.decode("amount")
                }
                return found
            }
            #expect(await eventually { (try? await stored().count) == amounts.count })
            let amountsStored = try await stored()
            #expect(amountsStored[caseIDs[0]] == "10000000000000000", "jsonb respells 1e16: \(amountsStored)")
            #expect(amountsStored[caseIDs[3]] == "0", "\(amountsStored)")
            #expect(try await database.query("SELECT DISTINCT hash_format FROM case_events").map { try $0.decode("hash_format", as: Int.self) } == [2])

            let report = try await AuditVerifier(client: database).verifyAll()
            #expect(report.isIntact, "\(report.breaks)")
            for caseID in caseIDs {
                #expect(try await AuditVerifier(client: database).verifyCase(caseID).isIntact, "\(caseID)")
            }
            var environment = ProcessInfo.processInfo.environment
            environment["CASEHUB_DATABASE_URL"] = stack.configuration.databaseURL
            environment["CASEHUB_ADMIN_DATABASE_URL"] = stack.configuration.databaseURL(for: .admin)
            let verify = try CommandLineTests().run(["audit", "verify"], environment: environment)
            #expect(verify.status == 0 && verify.output.contains("audit trail intact"), "\(verify.output)")
        }
    }

    /// More breaks than it lists: the command says how many there are in
    /// all, in which chains, lists the first, and says how to list the rest.
    @Test func theCommandLineCountsEveryBreak() async throws {
        let (url, environment) = try await CommandLineTests().migratedDatabase()
        let database = PostgresClient(configuration: PostgresConfiguration(connectionString: url), logger: Logger(label: "test"))
        defer { Task { await database.shutdown() } }
        let time = Date(timeIntervalSince1970: 1_764_000_000)
        try await HubStore(client: database).withTransaction { transaction in
            for index in 0..<70 {
                transaction.appendAudit(eventID: UUID().uuidString, caseID: "counted-\(index)", outcome: .accepted, type: "casehub.referral.submitted.v1",
                                        source: "zz-epb", occurredAt: time, recordedAt: time, caseVersion: 1, body: ["data": ["n": .integer(Int64(index))]])
            }
        }
        let clean = try CommandLineTests().run(["audit", "verify"], environment: environment)
        #expect(clean.status == 0 && clean.output.contains("audit trail intact: 70 record(s) checked"), "\(clean.output)")

        try await database.execute("UPDATE case_events SET type = 'casehub.referral.concluded.v1'")
        let chains = try await database.query("SELECT count(DISTINCT shard) AS n FROM case_events")[0].decode("n", as: Int.self)
        let broken = try CommandLineTests().run(["audit", "verify"], environment: environment)
        let lines = broken.output.split(separator: "\n").map(String.init)
        #expect(broken.status == 1)
        #expect(lines.contains("audit trail BROKEN: 70 break(s) in \(chains) of \(AuditShards.defaultCount) chain(s), 70 record(s) checked"),
                "\(broken.output)")
        #expect(lines.filter { $0.hasPrefix("  chain ") && $0.contains(" break(s) at #") }.count == chains, "\(broken.output)")
        #expect(lines.contains("the first 50 break(s):"), "\(broken.output)")
        #expect(lines.filter { $0.contains("content changed") }.count == 50, "\(broken.output)")
        #expect(lines.contains("  … and 20 more, not listed (--list 70 lists them all)"), "\(broken.output)")

        let everything = try CommandLineTests().run(["audit", "verify", "--list", "70"], environment: environment)
        #expect(everything.status == 1)
        #expect(everything.output.split(separator: "\n").filter { $0.contains("content changed") }.count == 70, "\(everything.output)")
        #expect(!everything.output.contains("not listed"), "\(everything.output)")
    }

    @Test func theCommandLineReportsTheBreak() async throws {
        try await withRunningStack { stack, http, database in
            try await populate(http)
            var environment = ProcessInfo.processInfo.environment
            environment["CASEHUB_DATABASE_URL"] = stack.configuration.databaseURL
            environment["CASEHUB_ADMIN_DATABASE_URL"] = stack.configuration.databaseURL(for: .admin)
            let clean = try CommandLineTests().run(["audit", "verify"], environment: environment)
            let entries = 7 + (try await administratorEntries(database))
            #expect(clean.status == 0 && clean.output.contains("audit trail intact: \(entries) record(s) checked"), "\(clean.output)")
            let replay = try CommandLineTests().run(["replay"], environment: environment)
            #expect(replay.status == 0 && replay.output.contains("live state matches the audit trail"), "\(replay.output)")
            try await database.execute("UPDATE case_events SET source = 'zz-psb' WHERE seq = 4")
            let broken = try CommandLineTests().run(["audit", "verify"], environment: environment)
            #expect(broken.status == 1)
            #expect(broken.output.contains("seq 4") && broken.output.contains("content changed"), "\(broken.output)")
        }
    }
}
