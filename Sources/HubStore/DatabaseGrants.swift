import Foundation
import Logging
import Postgres

/// What each ``DatabaseRole`` may do with each table: decided from what each
/// process really does, and kept in this one list (docs/postgres.md shows
/// it). The migrator applies it at the end of every run, after whatever
/// migrations it ran, so a table a later migration adds is covered by adding
/// its row here, not by a migration of its own. A table with no row gets no
/// privilege at all (and the migrator warns); a test holds the list to the
/// schema.
///
/// Column lists keep a role to the columns it needs: the adapters read only
/// which event ids the hub refused or claimed (not others' refused bodies),
/// and outbox positions for their metrics (not the records).
enum DatabaseGrants {
    struct Table: Sendable {
        let name: String
        /// GRANT privilege lists (`SELECT, INSERT`, `UPDATE (a, b)`); nil for none.
        let hub: String?
        let adapter: String?
        let admin: String?

        func privileges(of role: DatabaseRole) -> String? {
            switch role {
            case .hub: hub
            case .adapter: adapter
            case .admin: admin
            }
        }
    }

    static let tables: [Table] = [
        Table(name: "schema_migrations", hub: "SELECT", adapter: "SELECT", admin: "SELECT"),
        // Case state: the hub's alone to write; adapters show it to the parties.
        Table(name: "cases", hub: "SELECT, INSERT, UPDATE", adapter: "SELECT", admin: "SELECT"),
        Table(name: "deadlines", hub: "SELECT, INSERT, UPDATE", adapter: "SELECT", admin: "SELECT"),
        Table(name: "penalty_decisions", hub: "SELECT, INSERT", adapter: nil, admin: "SELECT"),
        // An adapter frees a refused event's id only if the hub never claimed it.
        Table(name: "inbox", hub: "SELECT, INSERT, DELETE", adapter: "SELECT (source, event_id)", admin: "SELECT, DELETE"),
        // The audit trail: appended by the hub and by administrators' actions.
        Table(name: "case_events", hub: "SELECT, INSERT", adapter: nil, admin: "SELECT, INSERT"),
        Table(name: "audit_head", hub: "SELECT", adapter: nil, admin: "SELECT"),
        Table(name: "audit_shards", hub: "SELECT, UPDATE", adapter: "SELECT (shard, outbox_seq)", admin: "SELECT, UPDATE"),
        Table(name: "audit_checkpoints", hub: "SELECT, INSERT", adapter: nil, admin: "SELECT, INSERT"),
        // The outbox: the adapters see positions only (the backlog they report in /metrics).
        Table(name: "outbox", hub: "SELECT, INSERT", adapter: "SELECT (shard, shard_seq, created_at)", admin: "SELECT, INSERT"),
        Table(name: "outbox_shards", hub: "SELECT, UPDATE", adapter: "SELECT (shard, sent_seq)", admin: "SELECT"),
        Table(name: "outbox_relays", hub: "SELECT, INSERT, UPDATE, DELETE", adapter: nil, admin: "SELECT"),
        Table(name: "outbox_parked", hub: "SELECT, INSERT, UPDATE", adapter: "SELECT (resolved_at)",
              admin: "SELECT, UPDATE (release_requested_at, resolved_at, resolution, resolved_by)"),
        // Refusals: the hub's and the adapters'; a refusal's content is never updated, only marked replayed.
        Table(name: "rejections", hub: "SELECT, INSERT, UPDATE (replayed_at, replay_reason, replayed_by)",
              adapter: "SELECT (stage, source, event_id), INSERT", admin: "SELECT, UPDATE (replayed_at, replay_reason, replayed_by)"),
        Table(name: "deliveries", hub: "SELECT",
              adapter: "SELECT, INSERT, UPDATE (acked_at, pushed_at, push_attempts, next_push_at)", admin: "SELECT"),
        // A delivery that starts the served agency's clocks: recorded by its adapter, applied by the hub.
        Table(name: "service_records", hub: "SELECT, UPDATE (applied_at)", adapter: "SELECT (agency, source, event_id), INSERT", admin: "SELECT"),
        Table(name: "adapter_submissions", hub: nil, adapter: "SELECT, INSERT, UPDATE (content_hash, submitted_at)", admin: nil),
        // Holds the agencies' webhook secrets: the adapters' alone. Changes are
        // recorded by a trigger (migration 18) for the hub to audit.
        Table(name: "webhooks", hub: nil, adapter: "SELECT, INSERT, UPDATE, DELETE", admin: nil),
        Table(name: "webhook_changes", hub: "SELECT, DELETE", adapter: nil, admin: nil),
        // Trust anchors: administrators register, approve and retire keys, issue and revoke tokens.
        Table(name: "agency_keys", hub: "SELECT", adapter: "SELECT", admin: "SELECT, INSERT, UPDATE (retired_at, retired_by)"),
        Table(name: "agency_key_proposals", hub: nil, adapter: "SELECT, INSERT", admin: "SELECT, UPDATE (rejected_at, rejected_by)"),
        Table(name: "agency_tokens", hub: "SELECT", adapter: "SELECT", admin: "SELECT, INSERT, UPDATE (revoked_at)"),
        // The hub's delivery-signing keys: hubs record theirs, adapters trust them.
        Table(name: "hub_keys", hub: "SELECT, INSERT, UPDATE", adapter: "SELECT", admin: "SELECT"),
        // `casehub replay`'s scratch table.
        Table(name: "cases_replay", hub: nil, adapter: nil, admin: "SELECT, INSERT, TRUNCATE"),
    ]

    /// Takes every privilege of the roles on the schema's tables and sequences
    /// and grants what ``tables`` says, in the migration's transaction (so no
    /// session ever sees the roles without their grants). A role that may
    /// insert into a table may use the sequences that fill its columns.
    /// Returns the schema's tables that have no row in ``tables``.
    @discardableResult
    static func apply(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let schema = try await connection.query("SELECT current_schema() AS name")[0].decode("name", as: String.self)
        let quotedSchema = quoted(schema)
        let roles = DatabaseRole.allCases.map(\.identifier).joined(separator: ", ")
        var script = [
            "REVOKE ALL ON ALL TABLES IN SCHEMA \(quotedSchema) FROM \(roles)",
            "REVOKE ALL ON ALL SEQUENCES IN SCHEMA \(quotedSchema) FROM \(roles)",
            "GRANT USAGE ON SCHEMA \(quotedSchema) TO \(roles)",
        ]
        let existing = try await connection.query("""
            SELECT c.relname AS name FROM pg_class c
            WHERE c.relnamespace = current_schema()::text::regnamespace AND c.relkind IN ('r', 'p')
            """).map { try $0.decode("name", as: String.self) }
        let sequences = try await connection.query("""
            SELECT t.relname AS owner, s.relname AS sequence
            FROM pg_class s JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid AND d.deptype IN ('a', 'i')
                 JOIN pg_class t ON t.oid = d.refobjid AND d.refclassid = 'pg_class'::regclass
            WHERE s.relkind = 'S' AND s.relnamespace = current_schema()::text::regnamespace
            """).map { (owner: try $0.decode("owner", as: String.self), sequence: try $0.decode("sequence", as: String.self)) }
        for table in tables where existing.contains(table.name) {
            for role in DatabaseRole.allCases {
                guard let privileges = table.privileges(of: role) else { continue }
                script.append("GRANT \(privileges) ON \(quotedSchema).\(quoted(table.name)) TO \(role.identifier)")
                if privileges.contains("INSERT") {
                    for sequence in sequences where sequence.owner == table.name {
                        script.append("GRANT USAGE ON SEQUENCE \(quotedSchema).\(quoted(sequence.sequence)) TO \(role.identifier)")
                    }
                }
            }
        }
        try await connection.executeScript(unsafeSQL: script.joined(separator: ";\n"))
        // Before PostgreSQL 15 every role may create in `public` unless a DBA took
        // that from PUBLIC; the owner may rely on it itself, so it is said, not done.
        let creators = try await connection.query("""
            SELECT r.rolname AS name FROM pg_roles r
            WHERE r.rolname = ANY(\(PostgresArray(DatabaseRole.allCases.map { Optional($0.rawValue) }))::text[])
              AND has_schema_privilege(r.oid, current_schema(), 'CREATE')
            """).map { try $0.decode("name", as: String.self) }
        if !creators.isEmpty {
            logger.warning("""
                these roles may create tables in schema \(schema) (granted to PUBLIC, PostgreSQL's default before version 15): \
                REVOKE CREATE ON SCHEMA \(quotedSchema) FROM PUBLIC, once the schema's owner no longer needs it
                """, metadata: ["roles": "\(creators)"])
        }
        let undecided = existing.filter { name in !tables.contains { $0.name == name } }.sorted()
        if !undecided.isEmpty {
            logger.warning("tables no CaseHub role may use (add them to DatabaseGrants)", metadata: ["tables": "\(undecided)"])
        }
        return undecided
    }

    /// An SQL identifier in double quotes.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
