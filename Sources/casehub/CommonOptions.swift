import Adapters
import ArgumentParser
import CaseHubServer
import CaseModel
import Foundation
import Hub
import HubStore
import Kafka
import Logging
import Postgres

/// Connection options every subcommand shares. Each falls back to its
/// environment variable, then to the default.
struct CommonOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers, comma-separated (env CASEHUB_KAFKA_BROKERS).")
    var kafkaBrokers: String?

    @Option(name: .customLong("kafka-property"), help: "A librdkafka property as key=value; repeatable (env CASEHUB_LIBRDKAFKA_<KEY>, '_' for '.').")
    var kafkaProperties: [String] = []

    @Option(help: """
        libpq connection string for every connection of this command, whatever its role (env CASEHUB_DATABASE_URL, \
        and CASEHUB_HUB_DATABASE_URL, CASEHUB_ADAPTER_DATABASE_URL, CASEHUB_ADMIN_DATABASE_URL by role; empty uses PG* variables).
        """)
    var databaseURL: String?

    @Option(help: "Topic name prefix (env CASEHUB_TOPIC_PREFIX).")
    var topicPrefix: String?

    @Option(help: "HTTP port (env CASEHUB_HTTP_PORT).")
    var httpPort: Int?

    @Option(help: "PEM certificate chain: serve HTTPS instead of HTTP (with --tls-key; env CASEHUB_TLS_CERTIFICATE).")
    var tlsCertificate: String?

    @Option(help: "PEM private key of --tls-certificate (env CASEHUB_TLS_KEY).")
    var tlsKey: String?

    @Option(help: "PEM CA of agency systems' client certificates; a presented certificate must verify (env CASEHUB_TLS_CLIENT_CA).")
    var tlsClientCA: String?

    @Flag(help: "Agency paths need a client certificate whose subject CN is the agency id, besides its token (env CASEHUB_TLS_REQUIRE_AGENCY_CERTIFICATES=1).")
    var requireAgencyCertificates = false

    @Option(name: .customLong("native-mapping"), help: "A native-record mapping table (JSON) replacing its kind's built-in one; repeatable.")
    var nativeMappingFiles: [String] = []

    @Option(help: "Consumer session timeout in milliseconds.")
    var sessionTimeoutMs: Int?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (env CASEHUB_LOG_LEVEL).")
    var logLevel: String?

    func configuration() throws -> CaseHubConfiguration {
        let environment = ProcessInfo.processInfo.environment
        var configuration = try CaseHubConfiguration.fromEnvironment(environment)
        if let kafkaBrokers { configuration.kafka.bootstrapServers = kafkaBrokers.split(separator: ",").map(String.init) }
        for property in kafkaProperties {
            let parts = property.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ValidationError("--kafka-property takes key=value, got '\(property)'")
            }
            do {
                try KafkaConfiguration.checkProperty(parts[0], value: parts[1])
            } catch {
                throw ValidationError("--kafka-property \(property): \(error.message)")
            }
            configuration.kafka.properties[parts[0]] = parts[1]
        }
        if let databaseURL {
            // Said on the command line: this command's connection, whatever the environment holds for a role.
            configuration.databaseURL = databaseURL
            (configuration.hubDatabaseURL, configuration.adapterDatabaseURL, configuration.adminDatabaseURL) = (nil, nil, nil)
        }
        if let topicPrefix {
            configuration.topics = TopicNames(prefix: topicPrefix)
            configuration.hub.topics = configuration.topics
            configuration.hub.groupID = "\(topicPrefix)-hub"
        }
        if let httpPort { configuration.httpPort = httpPort }
        switch (tlsCertificate, tlsKey) {
        case (nil, nil): break
        case (let certificate?, let key?): configuration.httpTLS = HTTPTLSSettings(certificateChainPath: certificate, privateKeyPath: key)
        default: throw ValidationError("--tls-certificate and --tls-key go together")
        }
        if tlsClientCA != nil || requireAgencyCertificates {
            guard configuration.httpTLS != nil else {
                throw ValidationError("--tls-client-ca and --require-agency-certificates need HTTPS (--tls-certificate and --tls-key)")
            }
            if let tlsClientCA { configuration.httpTLS?.clientCertificateAuthorityPath = tlsClientCA }
            if requireAgencyCertificates { configuration.httpTLS?.requireAgencyCertificates = true }
        }
        if let sessionTimeoutMs { configuration.consumerSessionTimeoutMilliseconds = sessionTimeoutMs }
        for file in nativeMappingFiles {
            do {
                configuration.nativeMappings = try configuration.nativeMappings.replacing(withFile: URL(fileURLWithPath: file))
            } catch {
                throw ValidationError("--native-mapping \(file): \(error)")
            }
        }
        return configuration
    }

    /// Runs `body` with a database client of the administrators' role
    /// (`casehub_admin`: the administrators' commands), shut down afterwards whatever happens.
    func withDatabase<T>(_ configuration: CaseHubConfiguration, logger: Logger, _ body: (PostgresClient) async throws -> T) async throws -> T {
        try await withDatabase(configuration.databaseURL(for: .admin), logger: logger, body)
    }

    /// The same as the schema's owner (`casehub migrate`).
    func withOwnerDatabase<T>(_ configuration: CaseHubConfiguration, logger: Logger, _ body: (PostgresClient) async throws -> T) async throws -> T {
        try await withDatabase(configuration.databaseURL, logger: logger, body)
    }

    private func withDatabase<T>(_ connectionString: String, logger: Logger, _ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: connectionString), logger: logger)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }

    func bootstrapLogging() throws -> Logger {
        let levelText = logLevel ?? ProcessInfo.processInfo.environment["CASEHUB_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: levelText) else {
            let source = logLevel == nil ? "CASEHUB_LOG_LEVEL=\(levelText)" : "--log-level \(levelText)"
            throw ValidationError("\(source): expected one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: "casehub")
    }
}
