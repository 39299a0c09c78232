import Foundation
import Logging
import Postgres
import Testing
import TestSupport

/// `sslmode=verify-full` against the test cluster, whose certificate the
/// stack signs with a CA of its own (`Deploy/local/stack.sh`): the CA
/// verifies it and the session is encrypted; any other CA is refused.
@Suite(.serialized)
struct PostgresTLSTests {
    let logger = Logger(label: "test.postgres.tls")

    func sessionIsEncrypted(_ connectionString: String) async throws -> Bool {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: connectionString), logger: logger)
        defer { Task { await client.shutdown() } }
        let rows = try await client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        let encrypted = try rows[0].decode(0, as: Bool.self)
        await client.shutdown()
        return encrypted
    }

    @Test func verifyFullWithTheStacksCA() async throws {
        let ca = try #require(TestEnvironment.databaseCA, "CASEHUB_PG_CA is not set: start the stack with Deploy/local/stack.sh")
        #expect(try await sessionIsEncrypted(TestEnvironment.databaseURL + " sslmode=verify-full sslrootcert=\(ca)"))
        // The certificate names localhost too.
        #expect(try await sessionIsEncrypted(TestEnvironment.databaseURL + " host=localhost sslmode=verify-full sslrootcert=\(ca)"))
        // Without TLS asked for, the same server still answers in the clear (the local stack allows both).
        #expect(try await sessionIsEncrypted(TestEnvironment.databaseURL + " sslmode=disable") == false)
    }

    @Test func anotherCAIsRefused() async throws {
        let ca = try #require(TestEnvironment.databaseCA)
        // The server's own certificate is no CA: verifying against it fails.
        let wrong = URL(fileURLWithPath: ca).deletingLastPathComponent().appendingPathComponent("server.crt").path
        await #expect(throws: PostgresError.self) {
            _ = try await sessionIsEncrypted(TestEnvironment.databaseURL + " sslmode=verify-full sslrootcert=\(wrong) connect_timeout=5")
        }
    }
}
