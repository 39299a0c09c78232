public import CaseModel
public import Postgres

/// Read-only views of canonical case state for the agencies' APIs.
public struct CaseViews: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// The case as an agency party to it sees it: status, parties, each
    /// agency's number, deadlines and links. Nil when the case does not
    /// exist or the agency is not party to it — callers must not tell which.
    public func view(caseID: String, for agency: AgencyID) async throws -> JSONValue? {
        let rows = try await client.query("""
            SELECT jsonb_build_object(
                'caseId', id, 'procedure', procedure, 'status', status, 'title', title, 'holder', holder,
                'parties', to_jsonb(parties), 'numbers', numbers, 'version', version,
                'openedAt', opened_at, 'updatedAt', updated_at,
                'deadlines', coalesce(state->'deadlines', '{}'::jsonb), 'links', coalesce(state->'links', '[]'::jsonb)
            )::text AS view
            FROM cases WHERE id = \(caseID) AND \(agency.rawValue) = ANY(parties)
            """)
        return try rows.first.map { try JSONValue.parse(Array(try $0.decode("view", as: String.self).utf8)) }
    }
}
