import AsyncHTTPClient
import CaseHubServer
import CaseModel
import Foundation
import HubStore
import Kafka
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import TestSupport
import Testing

/// HTTPS and mutual TLS on the real stack: certificates from a CA the test
/// makes, requests over a real TLS connection (AsyncHTTPClient).
@Suite(.serialized)
struct HTTPSTests {
    /// One TLS identity of a client: what it trusts and what it presents.
    struct ClientIdentity {
        var trusts: String?
        var presents: TestCertificateAuthority.Issued?
    }

    /// An HTTPS client for `identity`; nil trust means the system's roots.
    static func client(_ identity: ClientIdentity) throws -> AsyncHTTPClient.HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        if let trusts = identity.trusts { tls.trustRoots = .file(trusts) }
        if let presents = identity.presents {
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(presents.certificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: presents.keyPath, format: .pem))
        }
        return AsyncHTTPClient.HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
    }

    /// Status and problem title (or body) of one request; throws when no TLS session is made.
    static func send(_ client: AsyncHTTPClient.HTTPClient, _ method: HTTPMethod, port: Int, _ path: String,
                     token: String?, body: JSONValue? = nil) async throws -> (status: Int, body: JSONValue) {
        var request = HTTPClientRequest(url: "https://127.0.0.1:\(port)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.canonicalBytes))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), bytes.readableBytes == 0 ? .null : try JSONValue.parse(Array(bytes.readableBytesView)))
    }

    /// Client certificates for two agencies from the stack's client CA, and
    /// one for the first agency's name from a CA the server does not trust.
    struct Certificates {
        let serverCA: TestCertificateAuthority
        let clientCA: TestCertificateAuthority
        let rogueCA: TestCertificateAuthority
        let server: TestCertificateAuthority.Issued
        let epb: TestCertificateAuthority.Issued
        let procuratorate: TestCertificateAuthority.Issued
        let rogueEPB: TestCertificateAuthority.Issued

        static func make() throws -> Certificates {
            let serverCA = try TestCertificateAuthority.make(name: "CaseHub test server CA")
            let clientCA = try TestCertificateAuthority.make(name: "CaseHub test agency CA")
            let rogueCA = try TestCertificateAuthority.make(name: "Someone else's CA")
            return Certificates(
                serverCA: serverCA, clientCA: clientCA, rogueCA: rogueCA,
                server: try serverCA.issue(commonName: "127.0.0.1", alternativeNames: ["IP:127.0.0.1", "DNS:localhost"]),
                epb: try clientCA.issue(commonName: "zz-epb"),
                procuratorate: try clientCA.issue(commonName: "zz-procuratorate"),
                rogueEPB: try rogueCA.issue(commonName: "zz-epb"))
        }

        func remove() { [serverCA, clientCA, rogueCA].forEach { $0.remove() } }
    }

    @Test func agencyPathsNeedTheAgencysCertificateAndToken() async throws {
        let certificates = try Certificates.make()
        defer { certificates.remove() }
        try await withRunningStack(configure: {
            $0.httpTLS = HTTPTLSSettings(certificateChainPath: certificates.server.certificatePath,
                                         privateKeyPath: certificates.server.keyPath,
                                         clientCertificateAuthorityPath: certificates.clientCA.certificatePath,
                                         requireAgencyCertificates: true)
        }) { _, http, database in
            let adminToken = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test", by: .administrator("test"))
            try await Self.checkMutualTLS(port: http.port, tokens: http.tokens, adminToken: adminToken,
                                          certificates: certificates, plain: http)
        }
    }

    static func checkMutualTLS(port: Int, tokens: [String: String], adminToken: String,
                               certificates: Certificates, plain: HTTPClient) async throws {
        let epbToken = try #require(tokens["zz-epb"])
        let procuratorateToken = try #require(tokens["zz-procuratorate"])
        let serverCA = certificates.serverCA.certificatePath
        let epb = try client(ClientIdentity(trusts: serverCA, presents: certificates.epb))
        let procuratorate = try client(ClientIdentity(trusts: serverCA, presents: certificates.procuratorate))
        let anonymous = try client(ClientIdentity(trusts: serverCA, presents: nil))
        let rogue = try client(ClientIdentity(trusts: serverCA, presents: certificates.rogueEPB))
        let trustsNothing = try client(ClientIdentity(trusts: nil, presents: certificates.epb))
        try await withShutdown([epb, procuratorate, anonymous, rogue, trustsNothing]) {

        // The agency's certificate and token: a referral goes through, over TLS end to end.
        let caseID = "zz-epb:case-mtls-\(UInt32.random(in: 0 ... .max))"
        let submitted = try await send(epb, .POST, port: port, "/v1/agencies/zz-epb/events", token: epbToken,
                                       body: AdapterAccessTests.referral(caseID: caseID))
        #expect(submitted.status == 202, "\(submitted.body)")
        let deadline = ContinuousClock.now + .seconds(60)
        var delivered = false
        while !delivered && ContinuousClock.now < deadline {
            let inbox = try await send(procuratorate, .GET, port: port, "/v1/agencies/zz-procuratorate/inbox?after=0&wait=2",
                                       token: procuratorateToken)
            #expect(inbox.status == 200)
            delivered = (inbox.body["events"]?.arrayValue ?? []).contains { $0["event"]?["subject"]?.stringValue == caseID }
        }
        #expect(delivered, "the referral reached the procuratorate over HTTPS")

        // The certificate alone is not enough: the token is still checked.
        #expect(try await send(epb, .GET, port: port, "/v1/agencies/zz-epb/inbox", token: nil).status == 401)
        // Another agency's certificate, with that path's own token: refused.
        let crossed = try await send(epb, .GET, port: port, "/v1/agencies/zz-procuratorate/inbox", token: procuratorateToken)
        #expect(crossed.status == 403)
        #expect(crossed.body["title"] == "Client certificate required")
        // No certificate, a valid token: refused on agency paths...
        let bare = try await send(anonymous, .POST, port: port, "/v1/agencies/zz-epb/events", token: epbToken,
                                  body: AdapterAccessTests.referral(caseID: caseID + "-bare"))
        #expect(bare.status == 403)
        #expect(bare.body["title"] == "Client certificate required")
        // ...while administrators and probes need none (a browser on the dashboard).
        #expect(try await send(anonymous, .GET, port: port, "/healthz", token: nil).status == 200)
        #expect(try await send(anonymous, .GET, port: port, "/v1/overview", token: adminToken).status == 200)

        // A certificate from a CA the server does not trust: no TLS session at all.
        await #expect(throws: (any Error).self) {
            _ = try await send(rogue, .GET, port: port, "/v1/agencies/zz-epb/inbox", token: epbToken)
        }
        // A client that does not trust the server's CA refuses the server.
        await #expect(throws: (any Error).self) {
            _ = try await send(trustsNothing, .GET, port: port, "/v1/agencies/zz-epb/inbox", token: epbToken)
        }
        // Plain HTTP on the HTTPS port gets no answer.
        let plainAnswer = try? await plain.send("GET", "/healthz", nil)
        #expect(plainAnswer?.0 != 200)
        }
    }

    /// Runs `body`, then shuts the clients down whatever happened.
    static func withShutdown(_ clients: [AsyncHTTPClient.HTTPClient], _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            for client in clients { try? await client.shutdown() }
            throw error
        }
        for client in clients { try? await client.shutdown() }
    }

    @Test func httpsWithoutClientCertificatesKeepsTokens() async throws {
        let certificates = try Certificates.make()
        defer { certificates.remove() }
        try await withRunningStack(configure: {
            $0.httpTLS = HTTPTLSSettings(certificateChainPath: certificates.server.certificatePath,
                                         privateKeyPath: certificates.server.keyPath)
        }) { _, http, _ in
            let anonymous = try Self.client(ClientIdentity(trusts: certificates.serverCA.certificatePath, presents: nil))
            let epbToken = try #require(http.tokens["zz-epb"])
            try await Self.withShutdown([anonymous]) {
                let withToken = try await Self.send(anonymous, .GET, port: http.port, "/v1/agencies/zz-epb/inbox", token: epbToken)
                #expect(withToken.status == 200)
                let withoutToken = try await Self.send(anonymous, .GET, port: http.port, "/v1/agencies/zz-epb/inbox", token: nil)
                #expect(withoutToken.status == 401)
            }
        }
    }

    @Test func unreadableCertificateIsAClearStartupError() async throws {
        var configuration = CaseHubConfiguration(kafka: .init(bootstrapServers: [TestEnvironment.kafkaBrokers], clientID: "t"),
                                                 databaseURL: TestEnvironment.databaseURL)
        configuration.roles = .init(hub: true, adapters: [])
        configuration.httpTLS = HTTPTLSSettings(certificateChainPath: "/nonexistent/server.crt", privateKeyPath: "/nonexistent/server.key")
        let error = await #expect(throws: ConfigurationError.self) {
            _ = try await CaseHubStack(configuration: configuration, logger: .init(label: "test"), handleSignals: false)
        }
        #expect(error?.message.contains("/nonexistent/server.crt") == true)

        configuration.httpTLS?.requireAgencyCertificates = true
        let missingCA = await #expect(throws: ConfigurationError.self) {
            _ = try await CaseHubStack(configuration: configuration, logger: .init(label: "test"), handleSignals: false)
        }
        #expect(missingCA?.message.contains("--tls-client-ca") == true)
    }
}
