import Logging
import Postgres

/// Brings a database to ``Migration/latestVersion``, one transaction per
/// migration, under an advisory lock so that concurrent starters take turns.
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
    /// Arbitrary constant naming the migration lock.
    static let advisoryLockKey: Int64 = 0x4341_5345_4855_4201

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// The version the database is at (0 when empty).
    public func currentVersion() async throws -> Int {
        try await client.withConnection { try await Self.version(on: $0) }
    }

    /// Applies pending migrations; returns the versions applied.
    @discardableResult
    public func migrate() async throws -> [Int] {
        try await client.withTransaction { connection in
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
            return applied
        }
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
