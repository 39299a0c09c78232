public import CaseModel
public import Crypto
public import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import HubStore
import Synchronization

/// The adapters' private signing keys, one file per agency in a folder that
/// only the adapter reads (`<agency>.ed25519`, base64 of the 32-byte key,
/// mode 0600). A missing key is generated and its public half *proposed*:
/// the hub verifies with it only once an administrator approves it
/// (`casehub keys approve`). A key file replaced while the adapter runs
/// (`casehub keys rotate`) is picked up at the next signature: the retired
/// key is never used again.
public struct SigningKeys: Sendable {
    public let directory: URL
    private let loaded: LoadedKeys

    /// Each agency's key with the modification time of the file it came from.
    private final class LoadedKeys: Sendable {
        let keys: Mutex<[AgencyID: (key: Curve25519.Signing.PrivateKey, modified: Date?)]>
        init(_ keys: [AgencyID: (key: Curve25519.Signing.PrivateKey, modified: Date?)]) { self.keys = Mutex(keys) }
    }

    private init(directory: URL, keys: [AgencyID: Curve25519.Signing.PrivateKey]) {
        self.directory = directory
        var entries: [AgencyID: (key: Curve25519.Signing.PrivateKey, modified: Date?)] = [:]
        for (agency, key) in keys { entries[agency] = (key, Self.modificationDate(Self.file(for: agency, in: directory))) }
        loaded = LoadedKeys(entries)
    }

    private static func modificationDate(_ file: URL) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: file.path))?[.modificationDate] as? Date
    }

    /// The agency's current key: the file's if it changed since it was read.
    private func currentKey(_ agency: AgencyID) throws -> Curve25519.Signing.PrivateKey? {
        guard let entry = loaded.keys.withLock({ $0[agency] }) else { return nil }
        let file = Self.file(for: agency, in: directory)
        let modified = Self.modificationDate(file)
        guard modified != entry.modified, let modified else { return entry.key }
        let key = try Self.loadOrCreate(file)
        loaded.keys.withLock { $0[agency] = (key, modified) }
        return key
    }

    /// Loads (or creates) the keys of these agencies and proposes their
    /// public halves for an administrator to approve (a key registered,
    /// approved or retired already stays as it is).
    public static func load(agencies: [AgencyID], directory: URL, store: AgencyKeyStore) async throws -> SigningKeys {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        var keys: [AgencyID: Curve25519.Signing.PrivateKey] = [:]
        for agency in agencies {
            let key = try loadOrCreate(file(for: agency, in: directory))
            try await store.propose(agency: agency, publicKey: key.publicKey, by: proposer)
            keys[agency] = key
        }
        return SigningKeys(directory: directory, keys: keys)
    }

    /// Who proposes: this adapter, on this host.
    static var proposer: String { "adapter@\(ProcessInfo.processInfo.hostName)" }

    /// Replaces an agency's key with a new one, registered by `actor` (an
    /// administrator), and retires the agency's other keys now; they keep
    /// verifying events dated before. Audited as one rotation.
    public static func rotate(agency: AgencyID, directory: URL, store: AgencyKeyStore, by actor: AdministrativeActor,
                              reason: String? = nil) async throws -> (key: Curve25519.Signing.PublicKey, retired: [String]) {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let key = Curve25519.Signing.PrivateKey()
        let rotation = try await store.rotate(agency: agency, to: .publicKey(key.publicKey), by: actor, reason: reason)
        try write(key, to: file(for: agency, in: directory))
        return (key.publicKey, rotation.retired)
    }

    public func sign(_ event: CloudEvent) throws -> CloudEvent {
        guard let key = try currentKey(event.source) else {
            throw MissingKey(agency: event.source.rawValue)
        }
        return try EventSignature.sign(event, with: key)
    }

    public func publicKey(of agency: AgencyID) -> Curve25519.Signing.PublicKey? { (try? currentKey(agency))?.publicKey }

    /// The agencies whose keys this folder holds.
    public var agencies: [AgencyID] { loaded.keys.withLock { Array($0.keys) }.sorted { $0.rawValue < $1.rawValue } }

    /// Creates an agency's first key and registers it as `actor` (an
    /// administrator); refuses to replace one (that is ``rotate(agency:directory:store:by:reason:)``).
    public static func generate(agency: AgencyID, directory: URL, store: AgencyKeyStore, by actor: AdministrativeActor) async throws -> Curve25519.Signing.PublicKey {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = file(for: agency, in: directory)
        guard !FileManager.default.fileExists(atPath: file.path) else { throw KeyExists(file: file.path) }
        let key = Curve25519.Signing.PrivateKey()
        _ = try await store.register(agency: agency, publicKey: key.publicKey, by: actor)
        try write(key, to: file)
        return key.publicKey
    }

    /// The public half of the key in an agency's file, if there is one.
    public static func publicKey(agency: AgencyID, directory: URL) throws -> Curve25519.Signing.PublicKey? {
        let file = file(for: agency, in: directory)
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        return try loadOrCreate(file).publicKey
    }

    public struct KeyExists: Error, CustomStringConvertible {
        public let file: String
        public var description: String { "\(file) already holds a key; use 'casehub keys rotate' to replace it" }
    }

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

    /// Created 0600; replaces an old key atomically: a reader sees the old key or the new one.
    private static func write(_ key: Curve25519.Signing.PrivateKey, to file: URL) throws {
        try AtomicFile.write(Data(key.rawRepresentation.base64EncodedString().utf8), to: file, permissions: 0o600)
    }

    public struct CorruptKey: Error, CustomStringConvertible {
        public let file: String
        public var description: String { "the key file \(file) is not a base64 Ed25519 key" }
    }
}
