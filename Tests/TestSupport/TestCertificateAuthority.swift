public import Foundation

/// A throwaway certificate authority for TLS tests, made with the `openssl`
/// command (installed with the stack's PostgreSQL certificates): a CA, then
/// server and client certificates it signs, as PEM files in a temporary folder.
public struct TestCertificateAuthority: Sendable {
    public struct Issued: Sendable {
        public let certificatePath: String
        public let keyPath: String
    }

    public let directory: URL
    /// The CA's certificate (PEM): what a peer trusts.
    public let certificatePath: String
    private let keyPath: String

    /// A new CA named `name`, in a folder of its own.
    public static func make(name: String) throws -> TestCertificateAuthority {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("casehub-ca"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let authority = TestCertificateAuthority(
            directory: directory,
            certificatePath: directory.appendingPathComponent("ca.crt").path,
            keyPath: directory.appendingPathComponent("ca.key").path)
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                     "-subj", "/CN=\(name)", "-keyout", authority.keyPath, "-out", authority.certificatePath])
        return authority
    }

    /// A certificate for `commonName`, signed by this CA. `alternativeNames`
    /// are subjectAltName entries such as `IP:127.0.0.1` or `DNS:localhost`.
    public func issue(commonName: String, alternativeNames: [String] = []) throws -> Issued {
        let base = directory.appendingPathComponent(commonName.replacingOccurrences(of: "/", with: "_")).path
        let issued = Issued(certificatePath: base + ".crt", keyPath: base + ".key")
        try Self.openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=\(commonName)",
                          "-keyout", issued.keyPath, "-out", base + ".csr"])
        var arguments = ["x509", "-req", "-in", base + ".csr", "-CA", certificatePath, "-CAkey", keyPath, "-CAcreateserial",
                         "-days", "2", "-out", issued.certificatePath]
        if !alternativeNames.isEmpty {
            try Data("subjectAltName=\(alternativeNames.joined(separator: ","))\n".utf8).write(to: URL(fileURLWithPath: base + ".ext"))
            arguments += ["-extfile", base + ".ext"]
        }
        try Self.openssl(arguments)
        return issued
    }

    public func remove() {
        try? FileManager.default.removeItem(at: directory)
    }

    struct OpenSSLFailed: Error, CustomStringConvertible {
        let arguments: [String]
        let output: String
        var description: String { "openssl \(arguments.joined(separator: " ")) failed: \(output)" }
    }

    private static func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw OpenSSLFailed(arguments: arguments, output: text) }
    }
}
