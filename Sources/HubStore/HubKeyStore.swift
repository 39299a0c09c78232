public import Crypto
import CaseModel
public import Postgres

/// The keys hub processes sign the records of agencies' delivery topics with
/// (table `hub_keys`): each hub process records its key's public half before
/// it publishes; an adapter that is given no hub key of its own
/// (`casehub adapter --hub-public-key`) trusts the keys recorded here.
public struct HubKeyStore: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Records the key (again: its last start); `fromFile` false for a key made for one process's lifetime.
    public func record(_ key: Curve25519.Signing.PublicKey, fromFile: Bool) async throws {
        try await client.execute("""
            INSERT INTO hub_keys (key_id, public_key, from_file) VALUES (\(EventSignature.keyID(of: key)), \(Array(key.rawRepresentation)), \(fromFile))
            ON CONFLICT (key_id) DO UPDATE SET last_started_at = now()
            """)
    }

    /// Every recorded key, by key id.
    public func keys() async throws -> [String: Curve25519.Signing.PublicKey] {
        let rows = try await client.query("SELECT key_id, public_key FROM hub_keys")
        var keys: [String: Curve25519.Signing.PublicKey] = [:]
        for row in rows {
            let bytes: [UInt8] = try row.decode("public_key")
            keys[try row.decode("key_id")] = try Curve25519.Signing.PublicKey(rawRepresentation: bytes)
        }
        return keys
    }
}
