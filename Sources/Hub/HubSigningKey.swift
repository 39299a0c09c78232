import CaseModel
public import Crypto
import Foundation

/// The hub's own Ed25519 key: it signs the audit checkpoints. Kept in a file
/// (raw 32-byte private key, mode 0600), created on first use. Auditors keep
/// its public half (`casehub audit hub-key`) outside the database.
public enum HubSigningKey {
    public struct KeyFileError: Error, CustomStringConvertible {
        public let description: String
    }

    /// The key in `path`, created when the file does not exist.
    public static func loadOrCreate(at path: String) throws -> Curve25519.Signing.PrivateKey {
        if FileManager.default.fileExists(atPath: path) { return try load(at: path) }
        let key = Curve25519.Signing.PrivateKey()
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: key.rawRepresentation, attributes: [.posixPermissions: 0o600]) else {
            throw KeyFileError(description: "cannot write the hub's signing key to \(path)")
        }
        return key
    }

    public static func load(at path: String) throws -> Curve25519.Signing.PrivateKey {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KeyFileError(description: "cannot read the hub's signing key \(path)")
        }
        do {
            return try Curve25519.Signing.PrivateKey(rawRepresentation: data)
        } catch {
            throw KeyFileError(description: "\(path) is not an Ed25519 private key (32 raw bytes)")
        }
    }

    /// The key id CaseHub names keys by (as for agencies' keys).
    public static func keyID(of key: Curve25519.Signing.PrivateKey) -> String {
        EventSignature.keyID(of: key.publicKey)
    }
}
