public import CaseModel
public import Foundation
public import Postgres

/// Read-only views of canonical case state for the agencies' APIs.
public struct CaseViews: Sendable {
    let client: PostgresClient
    /// What each party sees, by its role on the case (`Schemas/disclosure.json`).
    let disclosure: Disclosure

    public init(client: PostgresClient, disclosure: Disclosure = .standard) {
        self.client = client
        self.disclosure = disclosure
    }

    /// The case as an agency party to it sees it: status, parties, each
    /// agency's number, deadlines (in the shape the administrators' API gives
    /// them, ``DeadlineRecord``) and links, as far as its role on the case
    /// lets it see them (``Disclosure/CaseViewRule``). Nil when the case does
    /// not exist or the agency is not party to it — callers must not tell which.
    public func view(caseID: String, for agency: AgencyID, asOf instant: Date = Date()) async throws -> JSONValue? {
        let rows = try await client.query("""
            SELECT jsonb_build_object(
                'caseId', id, 'procedure', procedure, 'status', status, 'title', title, 'holder', holder,
                'parties', to_jsonb(parties), 'numbers', numbers, 'version', version,
                'openedAt', opened_at, 'updatedAt', updated_at, 'links', coalesce(state->'links', '[]'::jsonb)
            )::text AS view, coalesce(state->'parties', '{}'::jsonb)::text AS roles
            FROM cases WHERE id = \(caseID) AND \(agency.rawValue) = ANY(parties)
            """)
        guard let row = rows.first, case .object(var view) = try JSONValue.parse(Array(try row.decode("view", as: String.self).utf8)) else {
            return nil
        }
        let roles = try JSONValue.parse(Array(try row.decode("roles", as: String.self).utf8))
        let seen = Self.rule(disclosure, procedure: view["procedure"]?.stringValue, roles: roles, of: agency)
        if seen.fields?.contains("deadlines") ?? true {
            let deadlines = try await client.query("""
                SELECT \(unsafeSQL: DeadlineRecord.columns) FROM deadlines WHERE case_id = \(caseID) ORDER BY due_at, rule_id
                """)
            view["deadlines"] = .array(try deadlines.map { try DeadlineRecord(row: $0) }
                .filter { seen.deadlines?.contains($0.rule) ?? true }
                .map { $0.json(asOf: instant) })
        }
        return Self.limited(view, by: seen, roles: roles)
    }
}
