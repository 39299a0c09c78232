public import Logging
public import Postgres

/// Brings a database to ``Migration/latestVersion`` under an advisory lock,
/// so that concurrent runs take turns, and grants the processes' roles
/// (``DatabaseRole``, ``DatabaseGrants``). Only `casehub migrate` (and the
/// local mode that stands in for an administrator) runs it: every other
/// process checks the version at start (``requireCurrent()``) and runs no DDL.
public struct Migrator: Sendable {
    public struct SchemaTooNew: Error, CustomStringConvertible {
        public let databaseVersion: Int
        public let knownVersion: Int
        public var description: String {
            "the database schema is at version \(databaseVersion), newer than this casehub understands (\(knownVersion)); run a newer casehub"
        }
    }

    let client: PostgresClient
    let logger: Logger
    /// How many audit chains a new database gets (``AuditShards``). Fixed once
    /// created: the shard of a case must never change.
    let auditShardCount: Int
    /// Arbitrary constant naming the migration lock.
    static let advisoryLockKey: Int64 = 0x4341_5345_4855_4201

    public init(client: PostgresClient, logger: Logger, auditShardCount: Int = AuditShards.defaultCount) {
        self.client = client
        self.logger = logger
        self.auditShardCount = auditShardCount
    }

    /// The version the database is at (0 when empty).
    public func currentVersion() async throws -> Int {
        try await client.withConnection { try await Self.version(on: $0) }
    }

    /// Creates the roles that are missing, applies pending migrations and
    /// grants the roles again; returns the versions applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        // Committed on its own: a role is cluster-wide, and another database's
        // migration should not wait on this one's for it.
        try await client.withConnection { try await DatabaseRole.createMissing(on: $0) }
        return try await client.withTransaction { connection in
            try await connection.execute("SELECT pg_advisory_xact_lock(\(Self.advisoryLockKey))")
            try await connection.executeScript(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     integer PRIMARY KEY,
                    name        text NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """)
            let current = try await Self.version(on: connection)
            if current > Migration.latestVersion {
                throw SchemaTooNew(databaseVersion: current, knownVersion: Migration.latestVersion)
            }
            var applied: [Int] = []
            for migration in Migration.all where migration.version > current {
                logger.info("applying migration", metadata: ["migration.version": "\(migration.version)", "migration.name": "\(migration.name)"])
                try await connection.executeScript(unsafeSQL: migration.sql)
                try await connection.execute("INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))")
                applied.append(migration.version)
            }
            try await createAuditShards(on: connection)
            try await DatabaseGrants.apply(on: connection, logger: logger)
            return applied
        }
    }

    /// The audit chains' heads, once: a database that has them keeps its number.
    private func createAuditShards(on connection: PostgresConnection) async throws {
        let existing = try await connection.query("SELECT count(*) AS n FROM audit_shards")[0].decode("n", as: Int64.self)
        if existing == 0 {
            guard (1...4_096).contains(auditShardCount) else { throw InvalidShardCount(count: auditShardCount) }
            try await connection.execute("""
                INSERT INTO audit_shards (shard, seq, hash)
                SELECT s, 0, \(AuditChain.genesis) FROM generate_series(0, \(auditShardCount - 1)) AS s
                """)
            logger.info("audit chains created", metadata: ["audit.shards": "\(auditShardCount)"])
        } else if existing != Int64(auditShardCount) && auditShardCount != AuditShards.defaultCount {
            logger.warning("the database keeps its \(existing) audit chains; a different count applies only to a new database",
                           metadata: ["audit.shards.requested": "\(auditShardCount)"])
        }
        // The outbox has the same shards; their relay rows follow the heads.
        try await connection.execute("INSERT INTO outbox_shards (shard) SELECT shard FROM audit_shards ON CONFLICT DO NOTHING")
    }

    public struct InvalidShardCount: Error, CustomStringConvertible {
        public let count: Int
        public var description: String { "the number of audit chains must be from 1 to 4096, not \(count)" }
    }

    /// Throws unless the database is exactly at the version this code knows.
    public func requireCurrent() async throws {
        let version = try await currentVersion()
        if version > Migration.latestVersion { throw SchemaTooNew(databaseVersion: version, knownVersion: Migration.latestVersion) }
        if version < Migration.latestVersion {
            throw MigrationsPending(databaseVersion: version)
        }
    }

    static func version(on connection: PostgresConnection) async throws -> Int {
        let exists = try await connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
        guard try exists[0].decode("present", as: Bool.self) else { return 0 }
        let rows = try await connection.query("SELECT coalesce(max(version), 0) AS version FROM schema_migrations")
        return try rows[0].decode("version", as: Int.self)
    }
}

public struct MigrationsPending: Error, CustomStringConvertible {
    public let databaseVersion: Int
    public var description: String {
        "the database schema is at version \(databaseVersion), this casehub needs \(Migration.latestVersion): run `casehub migrate`"
    }
}
