import CaseModel
import Crypto
import Foundation
import HubStore
import Logging
import Postgres
import TestSupport
import Testing

/// The adapters' refusals beside the hub's in `rejections`: the migration
/// that made room for them, their rows, and how administrators read both.
@Suite struct AdapterRejectionStoreTests {
    let logger = Logger(label: "test.rejections")

    func client() async throws -> PostgresClient {
        PostgresClient(configuration: PostgresConfiguration(connectionString: try await TestDatabase.create("rejections")), logger: logger)
    }

    /// A database at version 9 with a refusal of the hub's, as an upgrade finds it.
    func databaseBeforeAdapterRefusals() async throws -> PostgresClient {
        let client = try await client()
        try await client.withConnection { connection in
            try await connection.executeScript(unsafeSQL: "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
            for migration in Migration.all where migration.version < 10 {
                try await connection.executeScript(unsafeSQL: migration.sql)
                try await connection.execute("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
            }
            try await connection.execute("""
                INSERT INTO rejections (event_id, source, topic, code, reason, headers, value)
                VALUES ('e-1', 'zz-court', 'casehub.from.zz-court', \(RefusalCode.caseUnknown.rawValue), 'no such case', '[]', '\\x7b7d')
                """)
        }
        return client
    }

    @Test func version10MakesEarlierRefusalsTheHubsAndCanRunAgain() async throws {
        let client = try await databaseBeforeAdapterRefusals()
        // Version 10 first, then whatever came after it.
        #expect(try await Migrator(client: client, logger: logger).migrate().first == 10)
        let rows = try await client.query("SELECT stage, claimed_agency, token_hash, http_status FROM rejections")
        #expect(rows.count == 1)
        #expect(try rows[0].decode("stage", as: String.self) == "hub")
        #expect(try rows[0].decode("claimed_agency", as: String?.self) == nil)
        #expect(try rows[0].decode("http_status", as: Int?.self) == nil)
        // Applied once; and its script may run again without harm.
        #expect(try await Migrator(client: client, logger: logger).migrate() == [])
        let script = try #require(Migration.all.first { $0.version == 10 })
        #expect(script.name.hasPrefix("adapter-stage refusals"))
        try await client.withTransaction { try await $0.executeScript(unsafeSQL: script.sql) }
        // The stage is one of two.
        await #expect(throws: (any Error).self) {
            try await client.execute("UPDATE rejections SET stage = 'kafka'")
        }
        await client.shutdown()
    }

    @Test func anAdapterRefusalIsListedWithItsCredentialAndWithoutALargeBody() async throws {
        let client = try await databaseBeforeAdapterRefusals()
        try await Migrator(client: client, logger: logger).migrate()
        let tokens = AgencyTokenStore(client: client)
        let token = try await tokens.issue(agency: "zz-epb", label: "执法系统", by: .administrator("test"))
        let store = AdapterRejectionStore(client: client)
        let small = Array(#"{"specversion": "1.0"}"#.utf8)
        let large = Array(repeating: UInt8(ascii: " "), count: RefusedBody.storedLimit + 1)
        try await store.record(AdapterRejection(
            agency: "zz-epb", claimedAgency: nil, tokenHash: AgencyTokenStore.hash(token), request: "POST /v1/agencies/zz-epb/events",
            httpStatus: 422, code: .envelopeInvalid, reason: "1 rule(s) broken; nothing was submitted",
            violations: [Violation(path: "/id", rule: "required", message: "attribute 'id' is required\u{0}")], body: RefusedBody(read: small)))
        try await store.record(AdapterRejection(
            agency: "zz-epb", claimedAgency: "zz-court", tokenHash: AgencyTokenStore.hash(token), request: "POST /v1/agencies/zz-court/events",
            httpStatus: 403, code: .adapterImpersonation, reason: "a token of zz-epb was used on the paths of zz-court",
            body: RefusedBody(read: large)))

        let queries = AdminQueries(client: client)
        let all = try await queries.rejectionPage(AdminQueries.RejectionFilter())
        #expect(all.map(\.stage) == [.adapter, .adapter, .hub])
        let (impersonation, invalid, hub) = (all[0], all[1], all[2])
        #expect(impersonation.source == "zz-epb" && impersonation.claimedAgency == "zz-court" && impersonation.httpStatus == 403)
        #expect(impersonation.tokenID == AgencyTokenStore.hash(token).prefix(8).map { String(format: "%02x", $0) }.joined())
        #expect(impersonation.tokenLabel == "执法系统" && impersonation.topic == nil)
        #expect(impersonation.bodySize == Int64(large.count) && impersonation.bodySHA256 == Array(SHA256.hash(data: large)))
        #expect(!impersonation.bodyStored)
        #expect(invalid.bodyStored && invalid.bodySize == Int64(small.count) && invalid.claimedAgency == nil)
        #expect(invalid.violations[0]?["message"] == "attribute 'id' is required\u{FFFD}")
        #expect(hub.topic == "casehub.from.zz-court" && hub.bodyStored && hub.bodySize == 2 && hub.tokenID == nil && hub.httpStatus == nil)
        // Only a small body is kept.
        let kept = try await client.query("SELECT octet_length(value) AS n FROM rejections WHERE stage = 'adapter' ORDER BY id")
        #expect(try kept.map { try $0.decode("n", as: Int.self) } == [small.count, 0])

        var filter = AdminQueries.RejectionFilter()
        filter.stage = .hub
        #expect(try await queries.rejectionPage(filter).map(\.code) == [RefusalCode.caseUnknown.rawValue])
        filter = AdminQueries.RejectionFilter()
        filter.code = RefusalCode.adapterImpersonation.rawValue
        #expect(try await queries.rejectionPage(filter).map(\.id) == [impersonation.id])
        // An agency matches what it sent and what was claimed in its name.
        filter = AdminQueries.RejectionFilter()
        filter.agency = "zz-court"
        #expect(try await queries.rejectionPage(filter).map(\.id) == [impersonation.id, hub.id])

        // Only the hub's refusal waits for a replay; the adapter's cannot have one.
        let overview = try await queries.overview()
        #expect(overview.rejections == 3 && overview.rejectionsNotReplayed == 1)
        let replay = try await HubStore(client: client).replayRejection(id: invalid.id, reason: "test", by: "test", at: Date())
        guard case .notReplayable = replay else { Issue.record("\(replay)"); return }
        #expect(try await queries.rejectionPage(AdminQueries.RejectionFilter())[1].replayedAt == nil)
        await client.shutdown()
    }
}
