public import CaseModel
public import Crypto
public import Foundation
public import Postgres

/// The agencies' registered public signing keys (`agency_keys`).
public struct AgencyKeyStore: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Registers a public key for an agency; registering it again changes nothing.
    public func register(agency: AgencyID, publicKey: Curve25519.Signing.PublicKey) async throws {
        try await client.execute("""
            INSERT INTO agency_keys (agency, key_id, public_key) VALUES
                (\(agency.rawValue), \(EventSignature.keyID(of: publicKey)), \(Array(publicKey.rawRepresentation)))
            ON CONFLICT (agency, key_id) DO NOTHING
            """)
    }

    /// Retires every other key of the agency as of `instant`: events dated
    /// before it still verify with the old keys.
    public func retireAll(agency: AgencyID, except keyID: String, at instant: Date) async throws {
        try await client.execute("""
            UPDATE agency_keys SET retired_at = \(instant)
            WHERE agency = \(agency.rawValue) AND key_id <> \(keyID) AND retired_at IS NULL
            """)
    }

    /// One agency's registered keys, oldest first.
    public func keys(of agency: AgencyID) async throws -> [EventSignature.RegisteredKey] {
        let rows = try await client.query("""
            SELECT key_id, public_key, retired_at FROM agency_keys WHERE agency = \(agency.rawValue) ORDER BY created_at
            """)
        return try rows.map(Self.registeredKey)
    }

    private static func registeredKey(_ row: PostgresRow) throws -> EventSignature.RegisteredKey {
        EventSignature.RegisteredKey(keyID: try row.decode("key_id"), publicKey: try row.decode("public_key"),
                                     retiredAt: try row.decode("retired_at", as: Date?.self))
    }

    /// Every registered key, by agency.
    public func allKeys() async throws -> [AgencyID: [EventSignature.RegisteredKey]] {
        let rows = try await client.query("SELECT agency, key_id, public_key, retired_at FROM agency_keys ORDER BY agency, created_at")
        var keys: [AgencyID: [EventSignature.RegisteredKey]] = [:]
        for row in rows {
            guard let agency = AgencyID(rawValue: try row.decode("agency", as: String.self)) else { continue }
            keys[agency, default: []].append(try Self.registeredKey(row))
        }
        return keys
    }
}
