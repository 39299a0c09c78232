public import Postgres

/// The PostgreSQL roles CaseHub's processes connect as, each allowed only
/// what its work needs (``DatabaseGrants``, docs/postgres.md). They are
/// group roles: `casehub migrate` creates them (NOLOGIN) when missing and
/// grants them after every run; operators log their processes in as members
/// of them. The owner of the schema, who runs `casehub migrate`, is none of
/// them: no process but `migrate` changes the schema.
///
/// Role names are cluster-wide: every CaseHub database of a cluster grants
/// these same roles, each database its own tables.
public enum DatabaseRole: String, CaseIterable, Sendable {
    /// The hub: pipeline, outbox relay, deadline scheduler, checkpoints, the
    /// administrators' HTTP API. Writes cases and the audit trail; reads keys.
    case hub = "casehub_hub"
    /// The agencies' adapters: deliveries, submissions, webhooks, refusals,
    /// key proposals. Reads cases; writes no key, case or audit entry.
    case adapter = "casehub_adapter"
    /// Administrators' commands (`casehub keys`, `agencies`, `admin`,
    /// `replay`, `outbox`, `audit`): keys, tokens and their audit entries.
    case admin = "casehub_admin"

    /// The role's name, as SQL spells it (the names are plain identifiers).
    var identifier: String { rawValue }

    /// Creates the roles that are missing, unable to log in. Migrations of
    /// several databases of one cluster may do this at the same moment, and
    /// advisory locks are per database: a role another session created first
    /// is taken as created. Roles that exist (say a DBA made them) are left as
    /// they are, so then `migrate` needs no right to create roles.
    static func createMissing(on connection: PostgresConnection) async throws {
        do {
            for role in allCases {
                try await connection.executeScript(unsafeSQL: """
                    DO $$
                    BEGIN
                        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(role.rawValue)') THEN
                            CREATE ROLE \(role.identifier) NOLOGIN;
                        END IF;
                    EXCEPTION WHEN duplicate_object OR unique_violation THEN
                        NULL;  -- created by another database's migration meanwhile
                    END $$
                    """)
            }
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw RolesMissing(cause: error.message)
        }
    }

    /// Local mode only (`casehub run`, the tests' stacks, on a cluster that
    /// trusts loopback connections): the roles may log in themselves, with
    /// no password, so that each part of the stack connects as its own.
    /// Never for a shared cluster: there members log in, with credentials.
    public static func allowLocalLogin(client: PostgresClient) async throws {
        try await client.withConnection { connection in
            for role in allCases {
                // Two stacks starting at once may alter the same role: the loser re-checks.
                try await connection.executeScript(unsafeSQL: """
                    DO $$
                    BEGIN
                        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(role.rawValue)' AND rolcanlogin) THEN
                            ALTER ROLE \(role.identifier) LOGIN;
                        END IF;
                    EXCEPTION WHEN OTHERS THEN
                        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '\(role.rawValue)' AND rolcanlogin) THEN
                            RAISE;
                        END IF;
                    END $$
                    """)
            }
        }
    }

    /// The roles are missing and the migrating role may not create them.
    public struct RolesMissing: Error, CustomStringConvertible {
        public let cause: String
        public var description: String {
            let names = DatabaseRole.allCases.map(\.rawValue)
            return """
                the database roles \(names.joined(separator: ", ")) are missing and this role may not create them (\(cause)): \
                have a DBA run \(names.map { "CREATE ROLE \($0) NOLOGIN;" }.joined(separator: " ")) then run casehub migrate again
                """
        }
    }
}

/// Who a session is, against the role its process's part should connect
/// as: what a process checks at start (`CaseHubStack.checkReady`).
public struct DatabaseSessionStanding: Sendable {
    public var user: String
    public var isSuperuser: Bool
    /// A member of the role that owns the schema (the one `casehub migrate` runs as).
    public var ownsSchema: Bool
    /// A member of the role expected.
    public var isMember: Bool

    /// Reads the standing of `client`'s sessions towards `role`.
    public static func read(_ client: PostgresClient, role: DatabaseRole) async throws -> DatabaseSessionStanding {
        let row = try await client.query("""
            SELECT current_user::text AS name, r.rolsuper AS superuser,
                   coalesce(pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = to_regclass('schema_migrations')), 'MEMBER'), false) AS owner,
                   coalesce(pg_has_role(current_user, (SELECT oid FROM pg_roles WHERE rolname = \(role.rawValue)), 'MEMBER'), false) AS member
            FROM pg_roles r WHERE r.rolname = current_user
            """)[0]
        return DatabaseSessionStanding(user: try row.decode("name"), isSuperuser: try row.decode("superuser"),
                                       ownsSchema: try row.decode("owner"), isMember: try row.decode("member"))
    }
}
