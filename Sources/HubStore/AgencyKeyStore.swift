public import CaseModel
public import Crypto
public import Foundation
public import Postgres

/// The agencies' public signing keys. Two tables, so that what an adapter
/// writes can never be trusted by itself:
/// - `agency_key_proposals`: keys adapters propose for their agency at start
///   (``propose(agency:publicKey:by:)``); never used to verify.
/// - `agency_keys`: keys an administrator registered or approved (the
///   audited actions of ``AgencyKeyStore`` in `AgencyKeyStore+Administration`);
///   the hub verifies signatures with these alone.
public struct AgencyKeyStore: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Proposes a key for an agency, for an administrator to approve. A key
    /// already registered, approved, retired or rejected stays as it is:
    /// proposing it again (an adapter restarted with the same key folder)
    /// changes nothing.
    public func propose(agency: AgencyID, publicKey: Curve25519.Signing.PublicKey, by proposer: String) async throws {
        let keyID = EventSignature.keyID(of: publicKey)
        try await client.execute("""
            INSERT INTO agency_key_proposals (agency, key_id, public_key, proposed_by)
            SELECT \(agency.rawValue), \(keyID), \(Array(publicKey.rawRepresentation)), \(proposer)
            WHERE NOT EXISTS (SELECT 1 FROM agency_keys WHERE agency = \(agency.rawValue) AND key_id = \(keyID))
            ON CONFLICT (agency, key_id) DO NOTHING
            """)
    }

    /// One agency's registered keys (what verifies its events), oldest first.
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

    /// Where a key stands.
    public enum Status: String, Sendable {
        /// Proposed by an adapter; verifies nothing until an administrator approves it.
        case proposed
        /// Registered or approved by an administrator: verifies the agency's events.
        case active
        /// Retired by an administrator (before or after approval): never approved again.
        case retired
    }

    /// A key as administrators see it: its status and who did what when.
    public struct KeyRecord: Sendable, Hashable {
        public var agency: AgencyID
        public var keyID: String
        public var publicKey: [UInt8]
        public var status: Status
        public var proposedAt: Date?
        public var proposedBy: String?
        public var registeredAt: Date?
        public var registeredBy: String?
        public var retiredAt: Date?
        public var retiredBy: String?
    }

    /// Every key, proposed, active or retired, of one agency or all, by agency then age.
    public func records(of agency: AgencyID? = nil) async throws -> [KeyRecord] {
        let rows = try await client.query("""
            SELECT coalesce(k.agency, p.agency) AS agency, coalesce(k.key_id, p.key_id) AS key_id,
                   coalesce(k.public_key, p.public_key) AS public_key, p.proposed_at, p.proposed_by,
                   k.created_at AS registered_at, k.registered_by,
                   coalesce(k.retired_at, p.rejected_at) AS retired_at, coalesce(k.retired_by, p.rejected_by) AS retired_by,
                   k.key_id IS NOT NULL AS registered
            FROM agency_keys k FULL JOIN agency_key_proposals p ON p.agency = k.agency AND p.key_id = k.key_id
            WHERE \(agency?.rawValue)::text IS NULL OR coalesce(k.agency, p.agency) = \(agency?.rawValue)
            ORDER BY 1, coalesce(p.proposed_at, k.created_at), 2
            """)
        return try rows.compactMap { row in
            guard let agency = AgencyID(rawValue: try row.decode("agency", as: String.self)) else { return nil }
            let retiredAt = try row.decode("retired_at", as: Date?.self)
            let status: Status = retiredAt != nil ? .retired : try row.decode("registered", as: Bool.self) ? .active : .proposed
            return KeyRecord(
                agency: agency, keyID: try row.decode("key_id"), publicKey: try row.decode("public_key"), status: status,
                proposedAt: try row.decode("proposed_at", as: Date?.self), proposedBy: try row.decode("proposed_by", as: String?.self),
                registeredAt: try row.decode("registered_at", as: Date?.self), registeredBy: try row.decode("registered_by", as: String?.self),
                retiredAt: retiredAt, retiredBy: try row.decode("retired_by", as: String?.self))
        }
    }

    /// One key's record, or nil when no one proposed or registered it.
    public func record(agency: AgencyID, keyID: String) async throws -> KeyRecord? {
        try await records(of: agency).first { $0.keyID == keyID }
    }
}
