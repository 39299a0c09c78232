public import CaseModel
import Crypto
public import Foundation
public import Postgres

/// Bearer tokens of the agencies' systems and of administrators
/// (`agency_tokens`; administrators are the principal ``administrators``).
/// A token is shown once when issued; the database keeps only its SHA-256.
public struct AgencyTokenStore: Sendable {
    /// The principal of administrators' tokens (not an agency of any registry).
    public static let administrators: AgencyID = "casehub-admin"

    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Issues a new token for the agency and returns it (the only time it is
    /// seen). Audited, with the token's id and label, in the same transaction.
    public func issue(agency: AgencyID, label: String = "", by actor: AdministrativeActor, at instant: Date = Date()) async throws -> String {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        // `chub_` marks the text as a CaseHub token (for secret scanners and humans).
        let token = "chub_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        try await HubStore(client: client).withTransaction { transaction in
            try await transaction.connection.execute("""
                INSERT INTO agency_tokens (token_hash, agency, label, created_at) VALUES (\(Self.hash(token)), \(agency.rawValue), \(label), \(instant))
                """)
            transaction.appendAdministratorAction(.tokenIssued, concerning: agency, by: actor, at: instant, details: [
                "tokenId": .string(Self.id(of: token)), "label": .string(label),
            ])
        }
        return token
    }

    /// The agency a token belongs to, or nil when it is unknown or revoked.
    public func agency(forToken token: String) async throws -> AgencyID? {
        try await identity(forToken: token)?.agency
    }

    /// The principal and label of a token, or nil when it is unknown or revoked.
    public func identity(forToken token: String) async throws -> (agency: AgencyID, label: String)? {
        let rows = try await client.query("""
            SELECT agency, label FROM agency_tokens WHERE token_hash = \(Self.hash(token)) AND revoked_at IS NULL
            """)
        guard let row = rows.first, let agency = AgencyID(rawValue: try row.decode("agency", as: String.self)) else { return nil }
        return (agency, try row.decode("label"))
    }

    /// Revokes the agency's tokens with this label (all of them when nil);
    /// returns how many. Audited with the ids of the tokens it revoked; a
    /// revocation that finds no live token changes nothing and is not recorded.
    @discardableResult
    public func revoke(agency: AgencyID, label: String? = nil, by actor: AdministrativeActor, at instant: Date = Date()) async throws -> Int {
        try await HubStore(client: client).withTransaction { transaction in
            let revoked = try await transaction.connection.query("""
                UPDATE agency_tokens SET revoked_at = \(instant)
                WHERE agency = \(agency.rawValue) AND revoked_at IS NULL AND (\(label)::text IS NULL OR label = \(label))
                RETURNING encode(substring(token_hash FROM 1 FOR 8), 'hex') AS token_id
                """).map { try $0.decode("token_id", as: String.self) }.sorted()
            if !revoked.isEmpty {
                transaction.appendAdministratorAction(.tokensRevoked, concerning: agency, by: actor, at: instant, details: [
                    "label": label.map(JSONValue.string) ?? .null, "tokenIds": .array(revoked.map(JSONValue.string)),
                ])
            }
            return revoked.count
        }
    }

    /// What the database keeps of a token (SHA-256), and what names it in a
    /// refusal; its first 8 bytes in hex are the token's id for administrators.
    public static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }

    /// A token's id: the first 8 bytes of its SHA-256 in hex (names it in
    /// refusals and audit entries; cannot be turned back into the token).
    public static func id(of token: String) -> String {
        hash(token).prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}
