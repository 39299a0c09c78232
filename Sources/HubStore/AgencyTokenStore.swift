public import CaseModel
import Crypto
import Foundation
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

    /// Issues a new token for the agency and returns it (the only time it is seen).
    public func issue(agency: AgencyID, label: String = "") async throws -> String {
        var random = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
        // `chub_` marks the text as a CaseHub token (for secret scanners and humans).
        let token = "chub_" + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        try await client.execute("""
            INSERT INTO agency_tokens (token_hash, agency, label) VALUES (\(Self.hash(token)), \(agency.rawValue), \(label))
            """)
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

    /// Revokes the agency's tokens with this label (all of them when nil); returns how many.
    @discardableResult
    public func revoke(agency: AgencyID, label: String? = nil) async throws -> Int {
        try await client.execute("""
            UPDATE agency_tokens SET revoked_at = now()
            WHERE agency = \(agency.rawValue) AND revoked_at IS NULL AND (\(label)::text IS NULL OR label = \(label))
            """)
    }

    /// What the database keeps of a token (SHA-256), and what names it in a
    /// refusal; its first 8 bytes in hex are the token's id for administrators.
    public static func hash(_ token: String) -> [UInt8] {
        Array(SHA256.hash(data: Array(token.utf8)))
    }
}
