import HubStore
import Logging
import Postgres

/// At a process's start, for each part's connection: the schema is at
/// exactly this build's version (else the start is refused, with what to
/// do), and the session's role is the part's own (else a warning: the owner
/// or a superuser may do far more than the part's work, a role of another
/// part less).
struct DatabaseReadiness {
    /// What the log and errors call the part: `hub`, `adapters`.
    let part: String
    let role: DatabaseRole
    let connectionString: String
    /// Where this connection string came from, for the messages.
    let setting: String

    func check(logger: Logger) async throws {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: connectionString), logger: logger)
        do {
            try await check(client, logger: logger)
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw error
        }
    }

    private func check(_ client: PostgresClient, logger: Logger) async throws {
        do {
            try await Migrator(client: client, logger: logger).requireCurrent()
        } catch let error as MigrationsPending {
            throw DatabaseNotReady(part: part, problem: "\(error) (only `casehub migrate` changes the schema)")
        } catch let error as Migrator.SchemaTooNew {
            throw DatabaseNotReady(part: part, problem: "\(error)")
        } catch let error as PostgresError where error.sqlState == "42501" {
            throw DatabaseNotReady(part: part, problem: """
                its connection (\(setting)) may not read the schema's version (\(error.message)): run `casehub migrate`, which grants \
                the roles, and connect as a member of \(role.rawValue)
                """)
        }
        let standing = try await DatabaseSessionStanding.read(client, role: role)
        let metadata: Logger.Metadata = ["casehub.part": "\(part)", "db.user": "\(standing.user)", "db.role": "\(role.rawValue)"]
        if standing.isSuperuser || standing.ownsSchema {
            logger.warning("""
                \(part): connected as \(standing.user), \(standing.isSuperuser ? "a superuser" : "the schema's owner"), which may do far \
                more than this work needs (change keys, the audit trail, the schema); set \(setting) to a member of \(role.rawValue) (docs/postgres.md)
                """, metadata: metadata)
        } else if !standing.isMember {
            logger.warning("\(part): connected as \(standing.user), not a member of \(role.rawValue): it may lack privileges this work needs",
                           metadata: metadata)
        } else {
            logger.info("database role", metadata: metadata)
        }
    }
}

/// A part of the process cannot start on this database.
public struct DatabaseNotReady: Error, CustomStringConvertible {
    public let part: String
    public let problem: String
    public var description: String { "\(part): \(problem)" }
}
