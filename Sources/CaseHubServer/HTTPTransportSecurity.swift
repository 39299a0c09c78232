import HTTPCommon
public import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOCore
import NIOSSL

/// HTTPS for the process's HTTP API, with client certificates (mutual TLS)
/// as an option for agency systems.
///
/// With a client CA, a client that presents a certificate must present one
/// that CA signed, or the handshake fails; a client may still present none
/// (a browser on the dashboard, a readiness probe). With
/// ``requireAgencyCertificates`` every agency path (`/v1/agencies/{agency}/…`)
/// also needs a certificate whose subject common name is that agency's id, on
/// top of the agency's bearer token: a leaked token alone is then not enough.
public struct HTTPTLSSettings: Sendable {
    /// PEM: the server's certificate, then any intermediates.
    public var certificateChainPath: String
    /// PEM: the server certificate's private key.
    public var privateKeyPath: String
    /// PEM: the CA (or CAs) that signs agency systems' client certificates.
    public var clientCertificateAuthorityPath: String?
    /// Agency paths need a client certificate naming the agency (needs a client CA).
    public var requireAgencyCertificates: Bool

    public init(certificateChainPath: String, privateKeyPath: String,
                clientCertificateAuthorityPath: String? = nil, requireAgencyCertificates: Bool = false) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.clientCertificateAuthorityPath = clientCertificateAuthorityPath
        self.requireAgencyCertificates = requireAgencyCertificates
    }

    /// HTTP/1.1, over TLS when settings are given.
    static func serverBuilder(_ settings: HTTPTLSSettings?) throws -> HTTPServerBuilder {
        guard let settings else { return .http1() }
        return try .tls(.http1(), tlsConfiguration: settings.serverConfiguration())
    }

    /// The server's TLS configuration: TLS 1.2 or newer, client certificates verified when presented.
    func serverConfiguration() throws -> TLSConfiguration {
        if requireAgencyCertificates && clientCertificateAuthorityPath == nil {
            throw ConfigurationError(message: "requiring agency client certificates needs the CA that signs them (--tls-client-ca)")
        }
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChainPath)
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw ConfigurationError(message: "cannot read the HTTPS certificate \(certificateChainPath) or key \(privateKeyPath): \(error)")
        }
        guard !chain.isEmpty else { throw ConfigurationError(message: "\(certificateChainPath) holds no PEM certificate") }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCertificateAuthorityPath {
            let authorities: [NIOSSLCertificate]
            do {
                authorities = try NIOSSLCertificate.fromPEMFile(clientCertificateAuthorityPath)
            } catch {
                throw ConfigurationError(message: "cannot read the client CA \(clientCertificateAuthorityPath): \(error)")
            }
            configuration.trustRoots = .certificates(authorities)
            configuration.certificateVerification = .optionalVerification
        }
        return configuration
    }
}

/// The request context of CaseHub's HTTP server: Hummingbird's basic context
/// plus the connection, so that a route can ask for the client's certificate.
public struct CaseHubRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The subject common names of the client's verified certificate; empty
    /// without TLS or without a client certificate.
    func clientCertificateCommonNames() async -> [String] {
        guard let certificate = try? await channel.nioSSL_peerCertificate().get() else { return [] }
        return certificate.subjectName.filter { $0.type == .commonName }.map(\.value)
    }
}

/// Mutual TLS for agency paths: the client certificate must name the agency of
/// the path (subject common name = agency id). Runs inside the agency route
/// group, after routing, so it judges exactly the path parameter the routes use.
struct AgencyCertificateMiddleware: RouterMiddleware {
    typealias Context = CaseHubRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let agency = try context.parameters.require("agency")
        let names = await context.clientCertificateCommonNames()
        guard names.contains(agency) else {
            throw ProblemDetails(.forbidden, title: "Client certificate required",
                                 detail: names.isEmpty
                                     ? "agency paths need a client certificate issued to the agency (subject CN = agency id)"
                                     : "this client certificate is issued to another agency; it works only on that agency's paths")
        }
        return try await next(request, context)
    }
}
