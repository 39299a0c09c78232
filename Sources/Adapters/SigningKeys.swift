import CaseModel
import Crypto
import Foundation
import Glibc
import HubStore

/// The adapters' private signing keys, one file per agency in a folder that
/// only the adapter reads (`<agency>.ed25519`, base64 of the 32-byte key,
/// mode 0600). A missing key is generated and its public half registered.
public struct SigningKeys: Sendable {
    public let directory: URL
    private let keys: [AgencyID: Curve25519.Signing.PrivateKey]

    /// Loads (or creates) the keys of these agencies and registers their public keys.
    public static func load(agencies: [AgencyID], directory: URL, store: AgencyKeyStore) async throws -> SigningKeys {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var keys: [AgencyID: Curve25519.Signing.PrivateKey] = [:]
        for agency in agencies {
            let key = try loadOrCreate(file(for: agency, in: directory))
            try await store.register(agency: agency, publicKey: key.publicKey)
            keys[agency] = key
        }
        return SigningKeys(directory: directory, keys: keys)
    }

    /// Replaces an agency's key with a new one; the old key is retired now
    /// and keeps verifying events dated before.
    public static func rotate(agency: AgencyID, directory: URL, store: AgencyKeyStore) async throws -> Curve25519.Signing.PublicKey {
        let key = Curve25519.Signing.PrivateKey()
        try await store.register(agency: agency, publicKey: key.publicKey)
        try await store.retireAll(agency: agency, except: EventSignature.keyID(of: key.publicKey), at: Date())
        try write(key, to: file(for: agency, in: directory))
        return key.publicKey
    }

    public func sign(_ event: CloudEvent) throws -> CloudEvent {
        guard let agency = AgencyID(rawValue: event.source), let key = keys[agency] else {
            throw MissingKey(agency: event.source)
        }
        return try EventSignature.sign(event, with: key)
    }

    public func publicKey(of agency: AgencyID) -> Curve25519.Signing.PublicKey? { keys[agency]?.publicKey }

    public struct MissingKey: Error, CustomStringConvertible {
        public let agency: String
        public var description: String { "no signing key for agency \(agency)" }
    }

    static func file(for agency: AgencyID, in directory: URL) -> URL {
        directory.appendingPathComponent("\(agency.rawValue).ed25519")
    }

    private static func loadOrCreate(_ file: URL) throws -> Curve25519.Signing.PrivateKey {
        if let text = try? String(contentsOf: file, encoding: .utf8) {
            guard let raw = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw CorruptKey(file: file.path)
            }
            return try Curve25519.Signing.PrivateKey(rawRepresentation: raw)
        }
        let key = Curve25519.Signing.PrivateKey()
        try write(key, to: file)
        return key
    }

    private static func write(_ key: Curve25519.Signing.PrivateKey, to file: URL) throws {
        let temporary = file.appendingPathExtension("tmp")
        FileManager.default.createFile(atPath: temporary.path, contents: Data(key.rawRepresentation.base64EncodedString().utf8),
                                       attributes: [.posixPermissions: 0o600])
        // rename(2) replaces the old file atomically: a reader sees the old key or the new one.
        guard rename(temporary.path, file.path) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: file.path])
        }
    }

    public struct CorruptKey: Error, CustomStringConvertible {
        public let file: String
        public var description: String { "the key file \(file) is not a base64 Ed25519 key" }
    }
}
