import Foundation
import Kafka
import Logging
import Testing
import TestSupport

/// Kafka over TLS with client certificates, configured only through
/// librdkafka properties, as an operator would for Apache Kafka.
///
/// tansu 0.6 takes `--cert` but does not answer a TLS ClientHello, and has no
/// SASL, so the test's broker is its own tansu behind stunnel (Debian's
/// `stunnel4`), which terminates TLS, requires a client certificate from the
/// test's CA, and forwards plaintext to tansu; tansu advertises stunnel's port,
/// so every connection librdkafka makes is TLS. What this proves is the
/// client side: server verification, hostname check, client certificate.
/// SASL/SCRAM is untested here (no local broker offers it).
@Suite(.serialized)
struct KafkaTLSTests {
    let logger: Logger = {
        var logger = Logger(label: "test.kafka.tls")
        logger.logLevel = .critical
        return logger
    }()

    /// tansu behind a TLS-terminating stunnel, both the test's own.
    final class TLSBroker: @unchecked Sendable {
        let authority: TestCertificateAuthority
        let client: TestCertificateAuthority.Issued
        let address: String
        private let tansu: Process
        private let stunnel = Process()

        init() async throws {
            authority = try TestCertificateAuthority.make(name: "CaseHub test Kafka CA")
            let server = try authority.issue(commonName: "127.0.0.1", alternativeNames: ["IP:127.0.0.1", "DNS:localhost"])
            client = try authority.issue(commonName: "casehub-hub")
            let (plainPort, tlsPort) = (freeLoopbackPort(), freeLoopbackPort())
            address = "127.0.0.1:\(tlsPort)"

            tansu = try launchOwnBroker(listenPort: plainPort, advertisedPort: tlsPort)

            let configuration = authority.directory.appendingPathComponent("stunnel.conf")
            try Data("""
                foreground = yes
                pid =
                [kafka]
                accept = 127.0.0.1:\(tlsPort)
                connect = 127.0.0.1:\(plainPort)
                cert = \(server.certificatePath)
                key = \(server.keyPath)
                CAfile = \(authority.certificatePath)
                verifyChain = yes
                requireCert = yes

                """.utf8).write(to: configuration)
            stunnel.executableURL = URL(fileURLWithPath: "/usr/bin/stunnel4")
            stunnel.arguments = [configuration.path]
            stunnel.standardOutput = FileHandle.nullDevice
            stunnel.standardError = FileHandle.nullDevice
            try stunnel.run()
            let up = await eventually(timeout: .seconds(30), every: .milliseconds(100)) {
                loopbackAccepts(port: plainPort) && loopbackAccepts(port: tlsPort)
            }
            #expect(up, "the test's own broker or stunnel did not start")
        }

        /// The librdkafka properties of a client that trusts `trusting` and presents `presenting`.
        func connection(trusting: String?, presenting: TestCertificateAuthority.Issued?) -> KafkaConfiguration {
            var properties = ["security.protocol": "ssl", "ssl.endpoint.identification.algorithm": "https"]
            if let trusting { properties["ssl.ca.location"] = trusting }
            if let presenting {
                properties["ssl.certificate.location"] = presenting.certificatePath
                properties["ssl.key.location"] = presenting.keyPath
            }
            return KafkaConfiguration(bootstrapServers: [address], clientID: "casehub-tls-test", properties: properties)
        }

        /// SIGKILL: both may have inherited a signal mask that blocks SIGTERM.
        func stop() {
            kill(tansu.processIdentifier, SIGKILL)
            kill(stunnel.processIdentifier, SIGKILL)
            tansu.waitUntilExit()
            stunnel.waitUntilExit()
            authority.remove()
        }
    }

    @Test func producesAndConsumesOverMutualTLS() async throws {
        let broker = try await TLSBroker()
        defer { broker.stop() }
        let connection = broker.connection(trusting: broker.authority.certificatePath, presenting: broker.client)

        let topic = TestEnvironment.uniqueName("tls-topic")
        let admin = try KafkaAdmin(configuration: connection, logger: logger)
        #expect(try await admin.createTopics([.init(name: topic, partitions: 1)]) == [topic])

        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: connection), logger: logger)
        let reports = try await producer.sendBatch((0..<20).map {
            KafkaOutgoingMessage(topic: topic, key: "case-1", value: Array("移送 \($0)".utf8))
        })
        #expect(reports.allSatisfy { (try? $0.get()) != nil })
        await producer.shutdown()

        var consumerConfiguration = KafkaConsumerConfiguration(connection: connection, groupID: TestEnvironment.uniqueName("tls-group"))
        consumerConfiguration.sessionTimeoutMilliseconds = 6_000
        consumerConfiguration.connection.properties["heartbeat.interval.ms"] = "500"
        let consumer = try KafkaConsumer(configuration: consumerConfiguration, logger: logger)
        try consumer.subscribe(topics: [topic])
        var received: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(30)
        while received.count < 20, ContinuousClock.now < deadline {
            received += try await consumer.nextBatch(maxMessages: 100, maxWaitMilliseconds: 200)
        }
        #expect(received.map { String(decoding: $0.value, as: UTF8.self) } == (0..<20).map { "移送 \($0)" })
        await consumer.close()
    }

    @Test func refusesClientsWithoutTheRightCertificates() async throws {
        let broker = try await TLSBroker()
        defer { broker.stop() }
        let stranger = try TestCertificateAuthority.make(name: "Someone else's CA")
        defer { stranger.remove() }
        let strangersCertificate = try stranger.issue(commonName: "casehub-hub")

        let refused: [(String, KafkaConfiguration)] = [
            ("no client certificate", broker.connection(trusting: broker.authority.certificatePath, presenting: nil)),
            ("a client certificate from another CA", broker.connection(trusting: broker.authority.certificatePath, presenting: strangersCertificate)),
            ("a client that does not trust the broker's CA", broker.connection(trusting: stranger.certificatePath, presenting: broker.client)),
            ("plaintext", KafkaConfiguration(bootstrapServers: [broker.address], clientID: "casehub-tls-test")),
        ]
        for (what, connection) in refused {
            let admin = try KafkaAdmin(configuration: connection, logger: logger)
            await #expect(throws: (any Error).self, "\(what) must not reach the broker") {
                _ = try await admin.topics(timeoutMilliseconds: 3_000)
            }
        }
        // The right client still gets in: the refusals were about the certificates.
        let admin = try KafkaAdmin(configuration: broker.connection(trusting: broker.authority.certificatePath, presenting: broker.client),
                                   logger: logger)
        _ = try await admin.topics(timeoutMilliseconds: 10_000)
    }
}
