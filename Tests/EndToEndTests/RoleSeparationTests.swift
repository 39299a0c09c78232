import CaseHubServer
import CaseModel
import Foundation
import HubStore
import Kafka
import Logging
import Postgres
import TestSupport
import Testing

/// Each process connects as its own role and none but `casehub migrate`
/// changes the schema: the stack's hub and adapters run as `casehub_hub`
/// and `casehub_adapter`, and a hub or an adapter pointed at a database
/// that is not at its schema version refuses to start, creating nothing.
/// (The attacks in SQL with each role's credentials: `DatabaseRolesTests`.)
@Suite struct RoleSeparationTests {
    let logger = Logger(label: "test.roles.e2e")

    /// `casehub` with these arguments, its status and output; killed (and
    /// reported) if it still runs after `timeout`: a start that is not refused.
    func run(_ arguments: [String], environment: [String: String], timeout: Duration = .seconds(60)) async throws -> (status: Int32?, output: String) {
        let process = Process()
        process.executableURL = PackagePaths.casehubExecutable
        process.arguments = arguments
        process.environment = environment
        let output = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("casehub") + ".log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)  // FileHandle below fails if it could not be made
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let exited = await eventually(timeout: timeout, every: .milliseconds(100)) { !process.isRunning }
        if !exited {
            process.terminate()
            process.waitUntilExit()
        }
        try handle.close()
        return (exited ? process.terminationStatus : nil, try String(contentsOf: output, encoding: .utf8))
    }

    @Test func aHubOrAnAdapterRefusesToStartOnAnUnmigratedDatabaseAndCreatesNothing() async throws {
        let url = try await TestDatabase.create("unmigrated")
        let keys = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("keys")).path
        defer { try? FileManager.default.removeItem(atPath: keys) }
        var environment = ProcessInfo.processInfo.environment
        environment["CASEHUB_DATABASE_URL"] = url
        environment["CASEHUB_TOPIC_PREFIX"] = TestEnvironment.uniqueName("unmigrated")
        for (command, part) in [(["hub"], "hub"), (["adapter", "--agency", "zz-epb", "--key-dir", keys], "adapters")] {
            let (status, output) = try await run(command + ["--http-port", "0"], environment: environment)
            #expect(status != nil && status != 0, "casehub \(command[0]) started on an unmigrated database: \(output)")
            #expect(output.contains("\(part): the database schema is at version 0, this casehub needs \(Migration.latestVersion): run `casehub migrate`"),
                    "\(output)")
        }
        let owner = PostgresClient(configuration: PostgresConfiguration(connectionString: url), logger: logger)
        #expect(try await owner.query("SELECT 1 FROM pg_tables WHERE schemaname = current_schema()").isEmpty, "a refused start ran DDL")
        await owner.shutdown()
    }

    /// A migrated database whose roles may log in (as the local stack lets
    /// them), its owner's client, and a configuration that connects each
    /// part as its role.
    func migrated(_ name: String) async throws -> (owner: PostgresClient, configuration: CaseHubConfiguration) {
        let url = try await TestDatabase.create(name)
        let owner = PostgresClient(configuration: PostgresConfiguration(connectionString: url), logger: logger)
        try await Migrator(client: owner, logger: logger).migrate()
        try await DatabaseRole.allowLocalLogin(client: owner)
        var configuration = CaseHubConfiguration(kafka: KafkaConfiguration(bootstrapServers: [TestEnvironment.kafkaBrokers]), databaseURL: url)
        configuration.connectPartsAsTheirRoles()
        return (owner, configuration)
    }

    @Test func aStackRefusesADatabaseNewerThanItsBuildUnderEveryRole() async throws {
        var (owner, configuration) = try await migrated("newer")
        try await owner.execute("INSERT INTO schema_migrations (version, name) VALUES (\(Migration.latestVersion + 1), 'from a newer casehub')")
        for roles in [CaseHubConfiguration.Roles(hub: true, adapters: []), .init(hub: false, adapters: ["zz-epb"])] {
            configuration.roles = roles
            await #expect {
                try await CaseHubStack.checkReady(configuration, logger: logger)
            } throws: { error in
                "\(error)".contains("newer than this casehub understands")
            }
        }
        await owner.shutdown()
    }

    /// A database migrated before the roles were granted (or grants taken
    /// away): the part is told to run `casehub migrate`, not left to fail later.
    @Test func aPartWhoseRoleMayNotReadTheSchemaIsToldToMigrate() async throws {
        var (owner, configuration) = try await migrated("ungranted")
        try await owner.execute("REVOKE ALL ON schema_migrations FROM casehub_adapter")
        configuration.roles = .init(hub: false, adapters: ["zz-epb"])
        await #expect {
            try await CaseHubStack.checkReady(configuration, logger: logger)
        } throws: { error in
            "\(error)".contains("adapters: its connection (CASEHUB_ADAPTER_DATABASE_URL) may not read the schema's version")
                && "\(error)".contains("run `casehub migrate`")
        }
        await owner.shutdown()
    }

    /// The stack of every end-to-end test: its hub and adapters hold sessions
    /// as their roles while an event goes through, none as the owner.
    @Test func theStacksHubAndAdaptersRunUnderTheirOwnRoles() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"]) { stack, http, database in
            let caseID = TestEnvironment.caseID("roles", openedBy: "zz-epb")
            let event: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString.lowercased()), "source": "zz-epb",
                "type": "casehub.referral.submitted.v1", "time": "2026-11-29T08:00:00+08:00", "subject": .string(caseID),
                "data": .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "角色分离"]),
            ])
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", event).0 == 202)
            #expect(try await http.waitForInbox("zz-procuratorate", count: 1).count == 1)
            let users = try await database.query("""
                SELECT DISTINCT usename::text AS name FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()
                """).map { try $0.decode("name", as: String.self) }
            // The test's own client is the owner; every other session is the stack's, as its roles.
            let owner = try await database.query("SELECT current_user::text AS name")[0].decode("name", as: String.self)
            #expect(Set(users).isSuperset(of: [DatabaseRole.hub.rawValue, DatabaseRole.adapter.rawValue]), "\(users)")
            #expect(Set(users).subtracting([DatabaseRole.hub.rawValue, DatabaseRole.adapter.rawValue, owner]).isEmpty, "\(users)")
            #expect(try await stack.database.query("SELECT current_user::text AS name")[0].decode("name", as: String.self) == DatabaseRole.hub.rawValue)
            #expect(try await stack.adapterDatabase.query("SELECT current_user::text AS name")[0].decode("name", as: String.self)
                    == DatabaseRole.adapter.rawValue)
        }
    }
}
