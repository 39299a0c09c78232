import Adapters
import CaseModel
import Foundation
import Hub
import Kafka

extension CaseHubConfiguration {
    /// The prefix of librdkafka properties passed through the environment:
    /// `CASEHUB_LIBRDKAFKA_SECURITY_PROTOCOL=ssl` sets `security.protocol`.
    /// It is a namespace of its own, so that no CaseHub variable (such as the
    /// local stack's `CASEHUB_KAFKA_PORT`) can ever be taken for a property.
    public static let librdkafkaPropertyPrefix = "CASEHUB_LIBRDKAFKA_"

    /// `CASEHUB_KAFKA_*` variables that are not librdkafka properties.
    /// `CASEHUB_KAFKA_PORT` belongs to the local stack's scripts, which share
    /// the environment with `casehub`.
    static let kafkaVariables: Set<String> = ["CASEHUB_KAFKA_BROKERS", "CASEHUB_KAFKA_PORT"]

    /// Reads the configuration from the environment. Every variable that is
    /// set must make sense; one that does not stops the process with a
    /// message naming it, rather than being ignored:
    ///
    /// - `CASEHUB_KAFKA_BROKERS` (comma-separated `host:port`), `CASEHUB_DATABASE_URL`
    ///   (a libpq connection string), `CASEHUB_TOPIC_PREFIX`;
    /// - `CASEHUB_HUB_DATABASE_URL`, `CASEHUB_ADAPTER_DATABASE_URL`,
    ///   `CASEHUB_ADMIN_DATABASE_URL`: each role's, else `CASEHUB_DATABASE_URL`'s;
    /// - `CASEHUB_LIBRDKAFKA_<PROPERTY>`: any librdkafka property, `_` for `.`,
    ///   checked against the loaded librdkafka;
    /// - `CASEHUB_HTTP_HOST`, `CASEHUB_HTTP_PORT`; for HTTPS `CASEHUB_TLS_CERTIFICATE`
    ///   with `CASEHUB_TLS_KEY`, optionally `CASEHUB_TLS_CLIENT_CA` and
    ///   `CASEHUB_TLS_REQUIRE_AGENCY_CERTIFICATES=1`;
    /// - the adapters' limits `CASEHUB_MAX_BODY_BYTES`, `CASEHUB_MAX_EVENTS_PER_BATCH`,
    ///   `CASEHUB_MAX_STRING_BYTES`, `CASEHUB_RATE_PER_SECOND`, `CASEHUB_RATE_BURST`;
    /// - the outbox relays: `CASEHUB_RELAY_WORKERS`, `CASEHUB_RELAY_LEASE_MS`.
    public static func fromEnvironment(_ environment: [String: String]) throws(ConfigurationError) -> CaseHubConfiguration {
        let variables = EnvironmentVariables(environment)
        let brokers = try variables.list("CASEHUB_KAFKA_BROKERS") ?? ["127.0.0.1:9092"]
        var configuration = CaseHubConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: brokers, clientID: "casehub", properties: try librdkafkaProperties(in: environment)),
            databaseURL: environment["CASEHUB_DATABASE_URL"] ?? "",
            topics: TopicNames(prefix: try variables.topicPrefix("CASEHUB_TOPIC_PREFIX") ?? "casehub"))
        configuration.hubDatabaseURL = environment["CASEHUB_HUB_DATABASE_URL"]
        configuration.adapterDatabaseURL = environment["CASEHUB_ADAPTER_DATABASE_URL"]
        configuration.adminDatabaseURL = environment["CASEHUB_ADMIN_DATABASE_URL"]
        if let port = try variables.integer("CASEHUB_HTTP_PORT", in: 0...65_535) { configuration.httpPort = port }
        if let host = try variables.text("CASEHUB_HTTP_HOST") { configuration.httpHost = host }

        let certificate = try variables.text("CASEHUB_TLS_CERTIFICATE")
        let key = try variables.text("CASEHUB_TLS_KEY")
        let clientCA = try variables.text("CASEHUB_TLS_CLIENT_CA")
        let requireAgencyCertificates = try variables.flag("CASEHUB_TLS_REQUIRE_AGENCY_CERTIFICATES") ?? false
        switch (certificate, key) {
        case (let certificate?, let key?):
            configuration.httpTLS = HTTPTLSSettings(
                certificateChainPath: certificate, privateKeyPath: key,
                clientCertificateAuthorityPath: clientCA, requireAgencyCertificates: requireAgencyCertificates)
        case (nil, nil):
            if clientCA != nil || requireAgencyCertificates {
                throw ConfigurationError(message: "CASEHUB_TLS_CLIENT_CA and CASEHUB_TLS_REQUIRE_AGENCY_CERTIFICATES need HTTPS: set CASEHUB_TLS_CERTIFICATE and CASEHUB_TLS_KEY too")
            }
        default:
            throw ConfigurationError(message: "CASEHUB_TLS_CERTIFICATE and CASEHUB_TLS_KEY go together: set both, or neither")
        }

        var limits = configuration.adapterLimits
        limits.maxBodyBytes = try variables.integer("CASEHUB_MAX_BODY_BYTES", in: 1...Int.max) ?? limits.maxBodyBytes
        limits.maxEventsPerBatch = try variables.integer("CASEHUB_MAX_EVENTS_PER_BATCH", in: 1...Int.max) ?? limits.maxEventsPerBatch
        limits.maxStringBytes = try variables.integer("CASEHUB_MAX_STRING_BYTES", in: 1...Int.max) ?? limits.maxStringBytes
        limits.requestsPerSecond = try variables.positiveNumber("CASEHUB_RATE_PER_SECOND") ?? limits.requestsPerSecond
        limits.burst = try variables.positiveNumber("CASEHUB_RATE_BURST") ?? limits.burst
        configuration.adapterLimits = limits

        if let workers = try variables.integer("CASEHUB_RELAY_WORKERS", in: 1...64) { configuration.hub.relayWorkers = workers }
        if let lease = try variables.integer("CASEHUB_RELAY_LEASE_MS", in: 500...600_000) { configuration.hub.relayLeaseMilliseconds = lease }
        return configuration
    }

    /// The librdkafka properties named by `CASEHUB_LIBRDKAFKA_*`, each checked
    /// against the loaded librdkafka. A `CASEHUB_KAFKA_*` variable CaseHub does
    /// not know is refused too: it is most likely a property under the old
    /// prefix, and silently dropping, say, `security.protocol` is not an option.
    static func librdkafkaProperties(in environment: [String: String]) throws(ConfigurationError) -> [String: String] {
        var properties: [String: String] = [:]
        for (variable, value) in environment.sorted(by: { $0.key < $1.key }) {
            if variable.hasPrefix("CASEHUB_KAFKA_") && !kafkaVariables.contains(variable) {
                let suggestion = librdkafkaPropertyPrefix + variable.dropFirst("CASEHUB_KAFKA_".count)
                throw ConfigurationError(message: "\(variable) is not a CaseHub setting (known: \(kafkaVariables.sorted().joined(separator: ", "))); librdkafka properties are set as CASEHUB_LIBRDKAFKA_<PROPERTY>, here \(suggestion)")
            }
            guard variable.hasPrefix(librdkafkaPropertyPrefix) else { continue }
            let property = variable.dropFirst(librdkafkaPropertyPrefix.count).lowercased().replacingOccurrences(of: "_", with: ".")
            do {
                try KafkaConfiguration.checkProperty(property, value: value)
            } catch {
                throw ConfigurationError(message: "\(variable): \(error.message)")
            }
            properties[property] = value
        }
        return properties
    }
}

/// Typed reads of environment variables, each failing with a message that
/// names the variable and what it should hold. Unset means "use the default".
struct EnvironmentVariables {
    let environment: [String: String]

    init(_ environment: [String: String]) {
        self.environment = environment
    }

    func text(_ name: String) throws(ConfigurationError) -> String? {
        guard let value = environment[name] else { return nil }
        guard !value.isEmpty else { throw ConfigurationError(message: "\(name) is set but empty; unset it to use the default") }
        return value
    }

    func integer(_ name: String, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = try text(name) else { return nil }
        guard let number = Int(value), range.contains(number) else {
            throw ConfigurationError(message: "\(name)=\(value): expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    func positiveNumber(_ name: String) throws(ConfigurationError) -> Double? {
        guard let value = try text(name) else { return nil }
        guard let number = Double(value), number.isFinite, number > 0 else {
            throw ConfigurationError(message: "\(name)=\(value): expected a number greater than 0")
        }
        return number
    }

    func flag(_ name: String) throws(ConfigurationError) -> Bool? {
        guard let value = try text(name) else { return nil }
        switch value.lowercased() {
        case "1", "true", "yes": return true
        case "0", "false", "no": return false
        default: throw ConfigurationError(message: "\(name)=\(value): expected 1 or 0")
        }
    }

    func list(_ name: String) throws(ConfigurationError) -> [String]? {
        guard let value = try text(name) else { return nil }
        let items = value.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !items.contains(where: \.isEmpty) else {
            throw ConfigurationError(message: "\(name)=\(value): expected comma-separated host:port entries")
        }
        return items
    }

    /// Kafka topic names allow ASCII letters, digits, `.`, `_` and `-`.
    func topicPrefix(_ name: String) throws(ConfigurationError) -> String? {
        guard let value = try text(name) else { return nil }
        guard value.utf8.count <= 100, value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw ConfigurationError(message: "\(name)=\(value): a topic prefix takes at most 100 ASCII letters, digits, '.', '_' and '-'")
        }
        return value
    }
}
