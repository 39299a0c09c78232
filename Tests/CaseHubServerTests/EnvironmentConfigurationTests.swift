import Adapters
import CaseHubServer
import CaseModel
import Hub
import HubStore
import Kafka
import Testing

/// `CaseHubConfiguration.fromEnvironment`: every variable that is set is
/// used or refused with its name, never ignored or misread.
struct EnvironmentConfigurationTests {
    /// The local stack's own variables share the environment with `casehub`
    /// (`make run` exports them); none of them may be taken for a librdkafka property.
    @Test func theLocalStacksVariablesAreNotLibrdkafkaProperties() throws {
        let configuration = try CaseHubConfiguration.fromEnvironment([
            "CASEHUB_KAFKA_PORT": "59092", "CASEHUB_PG_PORT": "55432", "CASEHUB_PG_CA": "/tmp/ca.crt",
            "CASEHUB_KAFKA_BROKERS": "127.0.0.1:59092",
        ])
        #expect(configuration.kafka.properties.isEmpty)
        #expect(configuration.kafka.bootstrapServers == ["127.0.0.1:59092"])
    }

    @Test func librdkafkaPropertiesPassThroughUnderTheirOwnPrefix() throws {
        let configuration = try CaseHubConfiguration.fromEnvironment([
            "CASEHUB_LIBRDKAFKA_SECURITY_PROTOCOL": "ssl",
            "CASEHUB_LIBRDKAFKA_SOCKET_KEEPALIVE_ENABLE": "true",
        ])
        #expect(configuration.kafka.properties == ["security.protocol": "ssl", "socket.keepalive.enable": "true"])
    }

    @Test func anUnknownLibrdkafkaPropertyIsRefusedNamingTheVariable() {
        let error = #expect(throws: ConfigurationError.self) {
            try CaseHubConfiguration.fromEnvironment(["CASEHUB_LIBRDKAFKA_NO_SUCH_PROPERTY": "1"])
        }
        #expect(error?.message.hasPrefix("CASEHUB_LIBRDKAFKA_NO_SUCH_PROPERTY:") == true)
        #expect(error?.message.contains("no.such.property") == true)
    }

    @Test func aValueLibrdkafkaRefusesIsRefusedNamingTheVariable() {
        let error = #expect(throws: ConfigurationError.self) {
            try CaseHubConfiguration.fromEnvironment(["CASEHUB_LIBRDKAFKA_SECURITY_PROTOCOL": "carrier-pigeon"])
        }
        #expect(error?.message.hasPrefix("CASEHUB_LIBRDKAFKA_SECURITY_PROTOCOL:") == true)
    }

    /// A property under the old `CASEHUB_KAFKA_` prefix is not dropped silently
    /// (a lost `security.protocol` would mean plaintext): it is refused with the new name.
    @Test func aPropertyUnderTheKafkaPrefixIsRefusedWithTheNewName() {
        let error = #expect(throws: ConfigurationError.self) {
            try CaseHubConfiguration.fromEnvironment(["CASEHUB_KAFKA_SECURITY_PROTOCOL": "ssl"])
        }
        #expect(error?.message.contains("CASEHUB_LIBRDKAFKA_SECURITY_PROTOCOL") == true)
    }

    @Test(arguments: [
        ("CASEHUB_HTTP_PORT", "eighty"), ("CASEHUB_HTTP_PORT", "70000"), ("CASEHUB_HTTP_PORT", ""),
        ("CASEHUB_MAX_BODY_BYTES", "0"), ("CASEHUB_MAX_EVENTS_PER_BATCH", "-1"), ("CASEHUB_MAX_STRING_BYTES", "4k"),
        ("CASEHUB_RATE_PER_SECOND", "nan"), ("CASEHUB_RATE_BURST", "0"),
        ("CASEHUB_TOPIC_PREFIX", "case hub"), ("CASEHUB_KAFKA_BROKERS", "a:1,,b:2"),
        ("CASEHUB_TLS_REQUIRE_AGENCY_CERTIFICATES", "maybe"), ("CASEHUB_RELAY_WORKERS", "0"), ("CASEHUB_RELAY_LEASE_MS", "100"),
    ])
    func anUnreadableValueIsRefusedNamingTheVariable(variable: String, value: String) {
        let error = #expect(throws: ConfigurationError.self) {
            try CaseHubConfiguration.fromEnvironment([variable: value])
        }
        #expect(error?.message.hasPrefix(variable) == true, "\(error?.message ?? "")")
    }

    @Test func halfAnHTTPSConfigurationIsRefused() {
        #expect(throws: ConfigurationError.self) {
            try CaseHubConfiguration.fromEnvironment(["CASEHUB_TLS_CERTIFICATE": "/tmp/server.crt"])
        }
        #expect(throws: ConfigurationError.self) {
            try CaseHubConfiguration.fromEnvironment(["CASEHUB_TLS_CLIENT_CA": "/tmp/ca.crt"])
        }
    }

    @Test func everyDocumentedVariableIsRead() throws {
        let configuration = try CaseHubConfiguration.fromEnvironment([
            "CASEHUB_KAFKA_BROKERS": "127.0.0.1:1,127.0.0.1:2", "CASEHUB_DATABASE_URL": "host=127.0.0.1 port=5",
            "CASEHUB_TOPIC_PREFIX": "city-2", "CASEHUB_HTTP_HOST": "::1", "CASEHUB_HTTP_PORT": "8181",
            "CASEHUB_TLS_CERTIFICATE": "/c.pem", "CASEHUB_TLS_KEY": "/k.pem", "CASEHUB_TLS_CLIENT_CA": "/ca.pem",
            "CASEHUB_TLS_REQUIRE_AGENCY_CERTIFICATES": "1",
            "CASEHUB_MAX_BODY_BYTES": "1000", "CASEHUB_MAX_EVENTS_PER_BATCH": "7", "CASEHUB_MAX_STRING_BYTES": "99",
            "CASEHUB_RATE_PER_SECOND": "2.5", "CASEHUB_RATE_BURST": "5",
            "CASEHUB_RELAY_WORKERS": "3", "CASEHUB_RELAY_LEASE_MS": "2500",
            "CASEHUB_HUB_DATABASE_URL": "user=hub_1", "CASEHUB_ADAPTER_DATABASE_URL": "user=adapter_1", "CASEHUB_ADMIN_DATABASE_URL": "user=ops",
        ])
        #expect(configuration.databaseURL(for: .hub) == "user=hub_1" && configuration.databaseURL(for: .adapter) == "user=adapter_1")
        #expect(configuration.databaseURL(for: .admin) == "user=ops")
        #expect(configuration.hub.relayWorkers == 3 && configuration.hub.relayLeaseMilliseconds == 2_500)
        #expect(configuration.kafka.bootstrapServers == ["127.0.0.1:1", "127.0.0.1:2"])
        #expect(configuration.databaseURL == "host=127.0.0.1 port=5")
        #expect(configuration.topics.prefix == "city-2")
        #expect(configuration.hub.groupID == "city-2-hub")
        #expect(configuration.httpHost == "::1" && configuration.httpPort == 8181)
        #expect(configuration.httpTLS?.certificateChainPath == "/c.pem" && configuration.httpTLS?.privateKeyPath == "/k.pem")
        #expect(configuration.httpTLS?.clientCertificateAuthorityPath == "/ca.pem")
        #expect(configuration.httpTLS?.requireAgencyCertificates == true)
        #expect(configuration.adapterLimits.maxBodyBytes == 1000 && configuration.adapterLimits.maxEventsPerBatch == 7)
        #expect(configuration.adapterLimits.maxStringBytes == 99)
        #expect(configuration.adapterLimits.requestsPerSecond == 2.5 && configuration.adapterLimits.burst == 5)
    }

    /// A role's connection string not set is the owner's; local mode makes it the owner's as the role.
    @Test func eachRolesConnectionFallsBackToTheOwners() throws {
        var configuration = try CaseHubConfiguration.fromEnvironment(["CASEHUB_DATABASE_URL": "host=db dbname=casehub user=owner"])
        #expect(DatabaseRole.allCases.allSatisfy { configuration.databaseURL(for: $0) == "host=db dbname=casehub user=owner" })
        configuration.adminDatabaseURL = "user=ops"
        configuration.connectPartsAsTheirRoles()
        #expect(configuration.databaseURL(for: .hub) == "host=db dbname=casehub user=owner user='casehub_hub'")
        #expect(configuration.databaseURL(for: .adapter) == "host=db dbname=casehub user=owner user='casehub_adapter'")
        #expect(configuration.databaseURL(for: .admin) == "user=ops")
    }
}
