import CaseModel
import Crypto
import Foundation
@testable import HubStore
import Logging
import Postgres
import TestSupport
import Testing

/// The processes' roles (docs/postgres.md) against attacks played in SQL
/// with a compromised process's credentials: whatever an adapter or the hub
/// sends, it cannot change keys (nor the adapter cases or the audit trail),
/// run DDL, or change a webhook unrecorded.
@Suite struct DatabaseRolesTests {
    let logger = Logger(label: "test.roles")

    /// A migrated database with a key, a token, a proposal, a case with a
    /// deadline and audit entries in it; its owner's client, and a client per role.
    struct World {
        let owner: PostgresClient
        let url: String
        func client(_ role: DatabaseRole) -> PostgresClient {
            PostgresClient(configuration: PostgresConfiguration(connectionString: PostgresConfiguration.connectionString(url, user: role.rawValue)),
                           logger: Logger(label: "test.roles.\(role.rawValue)"))
        }
    }

    func world() async throws -> World {
        let url = try await TestDatabase.create("roles")
        let owner = PostgresClient(configuration: PostgresConfiguration(connectionString: url), logger: logger)
        try await Migrator(client: owner, logger: logger).migrate()
        try await DatabaseRole.allowLocalLogin(client: owner)
        _ = try await AgencyKeyStore(client: owner).register(agency: "zz-epb", publicKey: Curve25519.Signing.PrivateKey().publicKey,
                                                             by: .administrator("test"))
        _ = try await AgencyTokenStore(client: owner).issue(agency: "zz-epb", label: "system", by: .administrator("test"))
        try await owner.execute("""
            INSERT INTO cases (id, procedure, status, parties, version, opened_at, updated_at, state)
            VALUES ('zz-epb:roles-1', 'referral', 'submitted', '{zz-epb}', 1, now(), now(), '{"parties": {"holder": "zz-epb"}}')
            """)
        try await owner.execute("""
            INSERT INTO deadlines (case_id, rule_id, obliged_agency, legal_basis, trigger_event_id, trigger_event_type, started_at, due_at, warn_at, state)
            VALUES ('zz-epb:roles-1', 'rule', 'zz-procuratorate', 'basis', 'e-1', 't', now(), now() + interval '7 days', now() + interval '5 days', 'running')
            """)
        return World(owner: owner, url: url)
    }

    /// Every row of the trust anchors and the record, to show an attack changed nothing.
    static let guarded = ["agency_keys", "agency_key_proposals", "agency_tokens", "cases", "deadlines", "case_events", "audit_shards",
                          "audit_checkpoints", "webhook_changes", "schema_migrations"]

    func snapshot(_ world: World) async throws -> [String: String] {
        var rows: [String: String] = [:]
        for table in Self.guarded {
            rows[table] = try await world.owner.query("""
                SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') AS digest FROM \(unsafeSQL: table) t
                """)[0].decode("digest")
        }
        return rows
    }

    /// Each statement, sent as `role`, is refused for want of privilege (SQLSTATE 42501).
    func expectDenied(_ client: PostgresClient, _ statements: [String], sourceLocation: SourceLocation = #_sourceLocation) async {
        for sql in statements {
            do {
                try await client.withConnection { try await $0.executeScript(unsafeSQL: sql) }
                Issue.record("allowed: \(sql)", sourceLocation: sourceLocation)
            } catch let error as PostgresError {
                #expect(error.sqlState == "42501", "\(sql): \(error)", sourceLocation: sourceLocation)
            } catch {
                Issue.record("\(sql): \(error)", sourceLocation: sourceLocation)
            }
        }
    }

    /// What a compromised process of either role tries against the schema itself.
    static let ddl = [
        "CREATE TABLE evil (x int)",
        "ALTER TABLE case_events DISABLE TRIGGER ALL",
        "ALTER TABLE webhooks DISABLE TRIGGER webhooks_recorded",
        "DROP TABLE agency_keys",
        "ALTER TABLE agency_keys ADD COLUMN evil int",
        "CREATE OR REPLACE FUNCTION casehub_record_webhook_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    ]

    /// Writes on the keys: registering (or approving a proposal into `agency_keys`), un-retiring, removing.
    static let keyWrites = [
        "INSERT INTO agency_keys (agency, key_id, public_key, registered_by) VALUES ('zz-epb', 'forged', decode(repeat('00', 32), 'hex'), 'attacker')",
        "INSERT INTO agency_keys (agency, key_id, public_key, registered_by) SELECT agency, key_id, public_key, 'attacker' FROM agency_key_proposals",
        "UPDATE agency_keys SET retired_at = NULL, retired_by = NULL",
        "UPDATE agency_keys SET public_key = decode(repeat('11', 32), 'hex')",
        "DELETE FROM agency_keys",
        "TRUNCATE agency_keys",
        "UPDATE agency_key_proposals SET rejected_at = NULL",
        "DELETE FROM agency_key_proposals",
        "INSERT INTO agency_tokens (token_hash, agency) VALUES (decode(repeat('22', 32), 'hex'), 'casehub-admin')",
        "UPDATE agency_tokens SET revoked_at = NULL",
        "DELETE FROM agency_tokens",
    ]

    @Test func theAdaptersRoleCannotWriteKeysCasesOrTheAuditTrail() async throws {
        let world = try await world()
        let adapter = world.client(.adapter)
        // What the role is for still works: proposing a key.
        let proposed = Curve25519.Signing.PrivateKey().publicKey
        try await AgencyKeyStore(client: adapter).propose(agency: "zz-epb", publicKey: proposed, by: "adapter@test")
        // And its reads: a party's case view, the gauges of its /metrics.
        #expect(try await CaseViews(client: adapter).view(caseID: "zz-epb:roles-1", for: "zz-epb")?["deadlines"]?.arrayValue?.count == 1)
        #expect(try await HubStore(client: adapter).outboxBacklog().count == 0)
        #expect(try await HubStore(client: adapter).parkedOutboxCount() == 0)
        #expect(try await AdminQueries(client: adapter).deadlineCounts()["running"] == 1)
        let before = try await snapshot(world)

        await expectDenied(adapter, Self.keyWrites + [
            // Cases and deadlines: made up, moved on, removed.
            "INSERT INTO cases (id, procedure, status, version, opened_at, updated_at) VALUES ('zz-epb:forged', 'referral', 'closed', 1, now(), now())",
            "UPDATE cases SET status = 'closed', holder = 'zz-epb'",
            "DELETE FROM cases",
            "UPDATE deadlines SET state = 'met', closed_at = now()",
            "DELETE FROM deadlines",
            // The audit trail: appended, rewritten, cut short; its heads and checkpoints moved.
            """
            INSERT INTO case_events (outcome, type, source, occurred_at, recorded_at, body, prev_hash, hash)
            VALUES ('admin', 'casehub.admin.key-approved', 'admin:attacker', now(), now(), '{}', '\\x00', '\\x00')
            """,
            "UPDATE case_events SET body = '{}'",
            "DELETE FROM case_events",
            "TRUNCATE case_events",
            "UPDATE audit_shards SET hash = decode(repeat('00', 32), 'hex')",
            "DELETE FROM audit_checkpoints",
            // The record of webhook changes, before the hub audits it.
            "SELECT * FROM webhook_changes",
            "DELETE FROM webhook_changes",
            "INSERT INTO webhook_changes (agency, action, url, secret_changed, replaced, database_user, changed_at) VALUES ('zz-epb', 'set', 'x', false, false, 'x', now())",
            // Other agencies' refused bodies and outgoing records.
            "SELECT value FROM rejections",
            "SELECT value FROM outbox",
        ] + Self.ddl)
        // Approving its own proposal through the store, as an administrator would: refused too.
        await #expect(throws: PostgresError.self) {
            _ = try await AgencyKeyStore(client: adapter).approve(agency: "zz-epb", keyID: EventSignature.keyID(of: proposed), by: .administrator("adapter"))
        }
        #expect(try await snapshot(world) == before)
        #expect(try await AgencyKeyStore(client: world.owner).record(agency: "zz-epb", keyID: EventSignature.keyID(of: proposed))?.status == .proposed)
        await adapter.shutdown()
        await world.owner.shutdown()
    }

    @Test func theHubsRoleCannotChangeKeysOrTokens() async throws {
        let world = try await world()
        let hub = world.client(.hub)
        let adapter = world.client(.adapter)
        try await AgencyKeyStore(client: adapter).propose(agency: "zz-epb", publicKey: Curve25519.Signing.PrivateKey().publicKey, by: "adapter@test")
        // What the role is for still works: reading the keys it verifies with, appending to the trail.
        #expect(try await AgencyKeyStore(client: hub).keys(of: "zz-epb").count == 1)
        let before = try await snapshot(world)
        await expectDenied(hub, Self.keyWrites + [
            "INSERT INTO agency_key_proposals (agency, key_id, public_key, proposed_by) VALUES ('zz-epb', 'forged', decode(repeat('00', 32), 'hex'), 'hub')",
            // The agencies' webhook secrets are the adapters' alone.
            "SELECT secret FROM webhooks",
            "UPDATE webhooks SET url = 'https://attacker.invalid/'",
        ] + Self.ddl)
        await #expect(throws: PostgresError.self) {
            _ = try await AgencyKeyStore(client: hub).register(agency: "zz-epb", publicKey: Curve25519.Signing.PrivateKey().publicKey,
                                                               by: .administrator("hub"))
        }
        await #expect(throws: PostgresError.self) {
            _ = try await AgencyTokenStore(client: hub).issue(agency: "casehub-admin", label: "hub", by: .administrator("hub"))
        }
        #expect(try await snapshot(world) == before)
        await hub.shutdown()
        await adapter.shutdown()
        await world.owner.shutdown()
    }

    /// The administrators' role does what their commands do: keys, tokens,
    /// a replayed refusal, a discarded parked record, `casehub replay`'s
    /// scratch table (each key, token and action with its audit entry).
    @Test func theAdministratorsRoleDoesTheAdministratorsWork() async throws {
        let world = try await world()
        let admin = world.client(.admin)
        let keys = AgencyKeyStore(client: admin)
        let proposed = Curve25519.Signing.PrivateKey().publicKey
        try await AgencyKeyStore(client: world.owner).propose(agency: "zz-court", publicKey: proposed, by: "adapter@test")
        #expect(try await keys.approve(agency: "zz-court", keyID: EventSignature.keyID(of: proposed), by: .administrator("ops")) == .done)
        let given = Curve25519.Signing.PrivateKey().publicKey
        #expect(try await keys.register(agency: "zz-court", publicKey: given, by: .administrator("ops")) == .done)
        #expect(try await keys.retire(agency: "zz-court", keyID: EventSignature.keyID(of: given), by: .administrator("ops")) == .done)
        let tokens = AgencyTokenStore(client: admin)
        _ = try await tokens.issue(agency: "zz-court", label: "desk", by: .administrator("ops"))
        #expect(try await tokens.revoke(agency: "zz-court", label: "desk", by: .administrator("ops")) == 1)
        let rejection: Int64 = try await world.owner.query("""
            INSERT INTO rejections (event_id, source, topic, code, reason, headers, value)
            VALUES ('e-1', 'zz-epb', 'casehub.from.zz-epb', 'case.unknown', 'no such case', '[]', '\\x7b7d') RETURNING id
            """)[0].decode("id")
        let store = HubStore(client: admin)
        let replayed = try await store.replayRejection(id: rejection, reason: "its case arrived", by: "ops", at: Date())
        #expect({ if case .replayed = replayed { true } else { false } }(), "\(replayed)")
        #expect(try await world.owner.query("SELECT 1 FROM rejections WHERE id = \(rejection) AND replayed_by = 'ops'").count == 1)
        try await world.owner.execute("""
            INSERT INTO outbox (shard, shard_seq, topic, key, headers, value) VALUES (0, 100, 't', 'zz-epb:roles-1', '[]', '\\x00');
            """)
        try await world.owner.execute("INSERT INTO outbox_parked (shard, shard_seq, ordering_key, reason, attempts) VALUES (0, 100, 'zz-epb:roles-1', 'test', 1)")
        #expect(try await store.resolveParked(.init(shard: 0, seq: 100), .discard, reason: "obsolete", by: "ops", at: Date()) == .done)
        try await store.storeReplayedCases([CaseState]())
        #expect(try await store.casesDifferingFromReplay() == ["zz-epb:roles-1"])
        let actions = try await world.owner.query("SELECT count(*) AS n FROM case_events WHERE outcome = 'admin' AND source = 'admin:ops'")[0]
            .decode("n", as: Int64.self)
        #expect(actions == 7, "approve, register, retire, issue, revoke, replay, discard")
        await admin.shutdown()
        await world.owner.shutdown()
    }

    /// An adapter's credentials change a webhook straight in SQL, naming no
    /// one, and try to hide it: the trigger still records the change (as the
    /// database user who made it), the adapter cannot reach the record, and
    /// the hub writes it into the audit trail.
    @Test func aWebhookChangedStraightInSQLIsStillAudited() async throws {
        let world = try await world()
        let adapter = world.client(.adapter)
        try await WebhookStore(client: adapter).register(agency: "zz-epb", url: "https://bureau.example.invalid/hook", secret: "s1",
                                                         by: .agency("zz-epb", tokenID: "0011223344556677"))
        try await adapter.withConnection { connection in
            // A temporary table of the same name must not catch the trigger's record.
            try await connection.executeScript(unsafeSQL: """
                CREATE TEMPORARY TABLE webhook_changes (LIKE pg_class);
                UPDATE webhooks SET url = 'https://attacker.invalid/collect?k=1', secret = 's2' WHERE agency = 'zz-epb';
                """)
        }
        let hub = world.client(.hub)
        #expect(try await HubStore(client: hub).auditWebhookChanges() == 2)
        let rows = try await world.owner.query("""
            SELECT source, body::text AS body FROM case_events WHERE type = 'casehub.admin.webhook-set' ORDER BY seq
            """)
        let entries = try rows.map { (source: try $0.decode("source", as: String.self), body: try JSONValue.parse(Array(try $0.decode("body", as: String.self).utf8))) }
        #expect(entries.count == 2)
        #expect(entries.first?.source == "zz-epb" && entries.first?.body["byTokenId"] == "0011223344556677")
        let hidden = try #require(entries.last)
        #expect(hidden.source == "database:\(DatabaseRole.adapter.rawValue)" && hidden.body["byRole"] == "database", "\(hidden)")
        #expect(hidden.body["url"] == "https://attacker.invalid/collect?…" && hidden.body["secretChanged"] == true && hidden.body["replaced"] == true)
        #expect(hidden.body["databaseUser"] == .string(DatabaseRole.adapter.rawValue))
        #expect(try await world.owner.query("SELECT 1 FROM webhook_changes").isEmpty, "audited once, then gone")
        await hub.shutdown()
        await adapter.shutdown()
        await world.owner.shutdown()
    }

    /// Every table of the schema has its row in the grants (a new table without
    /// one would be usable by no process), and docs/postgres.md shows them as they are.
    @Test func everyTableHasItsGrantsAndTheDocsShowThem() async throws {
        let world = try await world()
        let tables = try await world.owner.query("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            .map { try $0.decode("tablename", as: String.self) }
        #expect(Set(tables) == Set(DatabaseGrants.tables.map(\.name)), "tables without grants, or grants for no table")
        let undecided = try await world.owner.withTransaction { connection in
            try await DatabaseGrants.apply(on: connection, logger: logger)
        }
        #expect(undecided.isEmpty)
        let docs = try String(contentsOf: PackagePaths.root.appendingPathComponent("docs/postgres.md"), encoding: .utf8)
        for table in DatabaseGrants.tables {
            let row = "| `\(table.name)` | \(table.hub ?? "—") | \(table.adapter ?? "—") | \(table.admin ?? "—") |"
            #expect(docs.contains(row), "docs/postgres.md lacks the row \(row)")
        }
        await world.owner.shutdown()
    }

    /// Roles are cluster-wide, grants per database: migrations of several
    /// databases at once all succeed, and each grants the roles its own tables.
    @Test func databasesMigratedAtOnceEachGrantTheRoles() async throws {
        let urls = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let url = try await TestDatabase.create("roles_many")
                    let client = PostgresClient(configuration: PostgresConfiguration(connectionString: url), logger: logger)
                    try await Migrator(client: client, logger: logger).migrate()
                    try await DatabaseRole.allowLocalLogin(client: client)
                    await client.shutdown()
                    return url
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for url in urls {
            let client = PostgresClient(configuration: PostgresConfiguration(connectionString: url), logger: logger)
            let row = try await client.query("""
                SELECT has_table_privilege('casehub_hub', 'cases', 'UPDATE') AS hub_cases,
                       has_table_privilege('casehub_adapter', 'cases', 'UPDATE') AS adapter_cases,
                       has_table_privilege('casehub_hub', 'agency_keys', 'INSERT') AS hub_keys,
                       has_table_privilege('casehub_admin', 'agency_keys', 'INSERT') AS admin_keys
                """)[0]
            #expect(try row.decode("hub_cases", as: Bool.self) && !(try row.decode("adapter_cases", as: Bool.self)))
            #expect(try !row.decode("hub_keys", as: Bool.self) && row.decode("admin_keys", as: Bool.self))
            await client.shutdown()
        }
    }
}
