import Postgres

/// What the hub needs beyond one case to judge an administrative penalty
/// decision (CaseModel's `PenaltyDecisions`): the case a bureau's number
/// names, and the bureau's numbers already used.
extension HubTransaction {
    /// The case that `agency` is party to and numbers `number` (its own
    /// number for the case, e.g. its transfer number); nil if none. Penalty
    /// decisions are rare: the parties index narrows the search to the
    /// bureau's cases, and no index on numbers slows every case write.
    public func caseID(numbered number: String, by agency: String) async throws -> String? {
        let rows = try await connection.query("""
            SELECT id FROM cases WHERE parties @> ARRAY[\(agency)]::text[] AND numbers ->> \(agency) = \(number)
            ORDER BY updated_at DESC LIMIT 1
            """)
        return try rows.first?.decode("id", as: String.self)
    }

    /// Records that `issuer` used penalty decision `number` on `caseID`.
    /// Returns nil when the number was free; else the case already recorded
    /// under it (a concurrent claim waits for the other transaction).
    public func claimPenaltyDecision(issuer: String, number: String, caseID: String, eventID: String) async throws -> String? {
        let claimed = try await connection.query("""
            INSERT INTO penalty_decisions (issuer, number, case_id, event_id) VALUES (\(issuer), \(number), \(caseID), \(eventID))
            ON CONFLICT (issuer, number) DO NOTHING RETURNING case_id
            """)
        if !claimed.isEmpty { return nil }
        let holder = try await connection.query("SELECT case_id FROM penalty_decisions WHERE issuer = \(issuer) AND number = \(number)")
        return try holder.first?.decode("case_id", as: String.self) ?? caseID
    }
}
