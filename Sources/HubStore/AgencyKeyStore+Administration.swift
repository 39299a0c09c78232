public import CaseModel
public import Crypto
public import Foundation
import Postgres

/// What administrators do with agency keys: register, approve, rotate,
/// retire. Each is one transaction that changes `agency_keys` (or rejects a
/// proposal) and appends one audit entry on the agency's chain, naming the
/// administrator and the key (public material only). An action that would
/// change nothing writes nothing; one that is not allowed throws
/// ``KeyAdministrationError`` with what to do instead.
extension AgencyKeyStore {
    public enum KeyChange: Sendable, Equatable {
        /// Done and audited.
        case done
        /// Nothing to do, with why (e.g. the key is active already).
        case unchanged(String)
    }

    /// Registers a public key an administrator holds (given out of band, or
    /// made by `casehub keys generate`): it verifies the agency's events at once.
    public func register(agency: AgencyID, publicKey: Curve25519.Signing.PublicKey, by actor: AdministrativeActor,
                         reason: String? = nil, at instant: Date = Date()) async throws -> KeyChange {
        let keyID = EventSignature.keyID(of: publicKey)
        return try await administer(agency) { transaction in
            switch try await Self.record(agency, keyID, transaction.connection)?.status {
            case .active?: return .unchanged("key \(keyID) of \(agency) is registered already")
            case .retired?: throw KeyAdministrationError.retired(agency: agency, keyID: keyID)
            case .proposed?, nil: break
            }
            try await Self.insert(agency, keyID, Array(publicKey.rawRepresentation), by: actor, at: instant, transaction.connection)
            transaction.appendAdministratorAction(.keyRegistered, concerning: agency, by: actor, at: instant,
                                                  details: Self.details(keyID, publicKey: Array(publicKey.rawRepresentation), reason: reason))
            return .done
        }
    }

    /// Approves a key an adapter proposed: from now on it verifies the
    /// agency's events. A retired key is never approved again.
    public func approve(agency: AgencyID, keyID: String, by actor: AdministrativeActor,
                        reason: String? = nil, at instant: Date = Date()) async throws -> KeyChange {
        try await administer(agency) { transaction in
            guard let record = try await Self.record(agency, keyID, transaction.connection) else {
                throw KeyAdministrationError.notProposed(agency: agency, keyID: keyID)
            }
            switch record.status {
            case .active: return .unchanged("key \(keyID) of \(agency) is active already")
            case .retired: throw KeyAdministrationError.retired(agency: agency, keyID: keyID)
            case .proposed: break
            }
            try await Self.insert(agency, keyID, record.publicKey, by: actor, at: instant, transaction.connection)
            var details = Self.details(keyID, publicKey: record.publicKey, reason: reason)
            details["proposedBy"] = record.proposedBy.map(JSONValue.string) ?? .null
            details["proposedAt"] = record.proposedAt.map { .string(RFC3339.format($0)) } ?? .null
            transaction.appendAdministratorAction(.keyApproved, concerning: agency, by: actor, at: instant, details: details)
            return .done
        }
    }

    /// The key an agency rotates to.
    public enum RotationTarget: Sendable {
        /// A new key whose public half the administrator holds (`casehub keys rotate --key-dir`).
        case publicKey(Curve25519.Signing.PublicKey)
        /// A key the agency's adapter proposed (`casehub keys rotate --to`).
        case proposed(keyID: String)
    }

    /// Makes `target` the agency's key and retires every other active key of
    /// the agency now, in one step; returns the ids of the keys it retired.
    /// Retired keys still verify events dated before now.
    public func rotate(agency: AgencyID, to target: RotationTarget, by actor: AdministrativeActor,
                       reason: String? = nil, at instant: Date = Date()) async throws -> (keyID: String, retired: [String]) {
        try await administer(agency) { transaction in
            let connection = transaction.connection
            let keyID: String
            let publicKey: [UInt8]
            switch target {
            case .publicKey(let key):
                keyID = EventSignature.keyID(of: key)
                publicKey = Array(key.rawRepresentation)
                if try await Self.record(agency, keyID, connection)?.status == .retired {
                    throw KeyAdministrationError.retired(agency: agency, keyID: keyID)
                }
            case .proposed(let id):
                guard let record = try await Self.record(agency, id, connection) else {
                    throw KeyAdministrationError.notProposed(agency: agency, keyID: id)
                }
                if record.status == .retired { throw KeyAdministrationError.retired(agency: agency, keyID: id) }
                keyID = id
                publicKey = record.publicKey
            }
            if try await Self.record(agency, keyID, connection)?.status != .active {
                try await Self.insert(agency, keyID, publicKey, by: actor, at: instant, connection)
            }
            let retired = try await connection.query("""
                UPDATE agency_keys SET retired_at = \(instant), retired_by = \(actor.name)
                WHERE agency = \(agency.rawValue) AND key_id <> \(keyID) AND retired_at IS NULL
                RETURNING key_id
                """).map { try $0.decode("key_id", as: String.self) }.sorted()
            var details = Self.details(keyID, publicKey: publicKey, reason: reason)
            details["retiredKeyIds"] = .array(retired.map(JSONValue.string))
            transaction.appendAdministratorAction(.keyRotated, concerning: agency, by: actor, at: instant, details: details)
            return (keyID, retired)
        }
    }

    /// Retires a key now: an active one still verifies events dated before
    /// now and nothing after; a proposed one is rejected. Either way it is
    /// never approved again, whoever proposes it.
    public func retire(agency: AgencyID, keyID: String, by actor: AdministrativeActor,
                       reason: String? = nil, at instant: Date = Date()) async throws -> KeyChange {
        try await administer(agency) { transaction in
            let connection = transaction.connection
            guard let record = try await Self.record(agency, keyID, connection) else {
                throw KeyAdministrationError.unknown(agency: agency, keyID: keyID)
            }
            switch record.status {
            case .retired:
                return .unchanged("key \(keyID) of \(agency) was retired already\(record.retiredAt.map { " at \(RFC3339.format($0))" } ?? "")")
            case .active:
                try await connection.execute("""
                    UPDATE agency_keys SET retired_at = \(instant), retired_by = \(actor.name) WHERE agency = \(agency.rawValue) AND key_id = \(keyID)
                    """)
            case .proposed:
                try await connection.execute("""
                    UPDATE agency_key_proposals SET rejected_at = \(instant), rejected_by = \(actor.name)
                    WHERE agency = \(agency.rawValue) AND key_id = \(keyID)
                    """)
            }
            var details = Self.details(keyID, publicKey: record.publicKey, reason: reason)
            details["wasActive"] = .bool(record.status == .active)
            transaction.appendAdministratorAction(.keyRetired, concerning: agency, by: actor, at: instant, details: details)
            return .done
        }
    }

    // MARK: one transaction per action

    /// First key of the advisory lock that serialises administrators' actions on one agency's keys.
    static let lockKey: Int32 = 0x4348_4B59  // "CHKY"

    private func administer<T: Sendable>(_ agency: AgencyID, _ body: (inout HubTransaction) async throws -> T) async throws -> T {
        try await HubStore(client: client).withTransaction { transaction in
            try await transaction.connection.execute("SELECT pg_advisory_xact_lock(\(Self.lockKey), hashtext(\(agency.rawValue)))")
            return try await body(&transaction)
        }
    }

    private static func record(_ agency: AgencyID, _ keyID: String, _ connection: PostgresConnection) async throws -> KeyRecord? {
        let rows = try await connection.query("""
            SELECT coalesce(k.public_key, p.public_key) AS public_key, p.proposed_at, p.proposed_by,
                   k.key_id IS NOT NULL AS registered, coalesce(k.retired_at, p.rejected_at) AS retired_at,
                   k.created_at AS registered_at, k.registered_by, coalesce(k.retired_by, p.rejected_by) AS retired_by
            FROM (SELECT \(agency.rawValue)::text AS agency, \(keyID)::text AS key_id) wanted
            LEFT JOIN agency_keys k ON k.agency = wanted.agency AND k.key_id = wanted.key_id
            LEFT JOIN agency_key_proposals p ON p.agency = wanted.agency AND p.key_id = wanted.key_id
            WHERE k.key_id IS NOT NULL OR p.key_id IS NOT NULL
            """)
        return try rows.first.map { row in
            let retiredAt = try row.decode("retired_at", as: Date?.self)
            return KeyRecord(
                agency: agency, keyID: keyID, publicKey: try row.decode("public_key"),
                status: retiredAt != nil ? .retired : try row.decode("registered", as: Bool.self) ? .active : .proposed,
                proposedAt: try row.decode("proposed_at", as: Date?.self), proposedBy: try row.decode("proposed_by", as: String?.self),
                registeredAt: try row.decode("registered_at", as: Date?.self), registeredBy: try row.decode("registered_by", as: String?.self),
                retiredAt: retiredAt, retiredBy: try row.decode("retired_by", as: String?.self))
        }
    }

    private static func insert(_ agency: AgencyID, _ keyID: String, _ publicKey: [UInt8], by actor: AdministrativeActor, at instant: Date,
                               _ connection: PostgresConnection) async throws {
        try await connection.execute("""
            INSERT INTO agency_keys (agency, key_id, public_key, created_at, registered_by)
            VALUES (\(agency.rawValue), \(keyID), \(publicKey), \(instant), \(actor.name))
            """)
    }

    /// The key named in an audit entry: its id and public half (public material only).
    private static func details(_ keyID: String, publicKey: [UInt8], reason: String?) -> [String: JSONValue] {
        ["keyId": .string(keyID), "publicKey": .string(Data(publicKey).base64EncodedString()), "reason": reason.map(JSONValue.string) ?? .null]
    }
}

/// An administrator's key action that is not allowed, with what to do instead.
public struct KeyAdministrationError: Error, CustomStringConvertible, Equatable {
    public let description: String

    public init(description: String) {
        self.description = description
    }

    static func notProposed(agency: AgencyID, keyID: String) -> KeyAdministrationError {
        KeyAdministrationError(description: """
            no key \(keyID) was proposed for \(agency): start its adapter with the key (it proposes it), \
            or register the public key ('casehub keys register'); 'casehub keys list --agency \(agency)' shows its keys
            """)
    }

    static func retired(agency: AgencyID, keyID: String) -> KeyAdministrationError {
        KeyAdministrationError(description: """
            key \(keyID) of \(agency) is retired and is never trusted again: give the adapter a new key \
            ('casehub keys rotate --agency \(agency) --key-dir …')
            """)
    }

    static func unknown(agency: AgencyID, keyID: String) -> KeyAdministrationError {
        KeyAdministrationError(description: "\(agency) has no key \(keyID) (proposed or registered); 'casehub keys list --agency \(agency)' shows its keys")
    }
}
