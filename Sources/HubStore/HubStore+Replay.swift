public import CaseModel
public import Foundation
import Postgres

/// Reads and writes for rebuilding case state from the audit trail
/// (`casehub replay`): the accepted events in order, and a scratch table
/// `cases_replay` compared with the live `cases`.
extension HubStore {
    /// An accepted event as the audit trail recorded it.
    public struct AuditedEvent: Sendable {
        public var seq: Int64
        public var event: CloudEvent
        /// When the hub received it (the state machine's clock).
        public var recordedAt: Date
    }

    public func acceptedEventCount() async throws -> Int {
        Int(try await client.query("SELECT count(*) AS n FROM case_events WHERE outcome = 'accepted'")[0].decode("n", as: Int64.self))
    }

    /// Up to `limit` accepted events after `seq`, in audit order.
    public func acceptedEvents(after seq: Int64, limit: Int) async throws -> [AuditedEvent] {
        let rows = try await client.query("""
            SELECT seq, body, recorded_at FROM case_events
            WHERE outcome = 'accepted' AND seq > \(seq) ORDER BY seq LIMIT \(limit)
            """)
        return try rows.map { row in
            AuditedEvent(
                seq: try row.decode("seq"),
                event: try CloudEvent(structured: try JSONValue.parse(Array(try row.decode("body", as: String.self).utf8))),
                recordedAt: try row.decode("recorded_at"))
        }
    }

    /// Replaces `cases_replay` with these states.
    public func storeReplayedCases(_ states: some Collection<CaseState>) async throws {
        try await client.withConnection { connection in
            try await connection.executeScript(unsafeSQL: """
                DROP TABLE IF EXISTS cases_replay;
                CREATE TABLE cases_replay (id text PRIMARY KEY, state jsonb NOT NULL)
                """)
            let rows: [[(any PostgresEncodable)?]] = try states.map { [$0.caseID, PostgresJSON(try $0.encoded())] }
            try await connection.copy(into: "cases_replay", columns: ["id", "state"], rows: rows)
        }
    }

    /// Ids of cases whose replayed state differs from the live one, or that
    /// exist on one side only (at most `limit`).
    public func casesDifferingFromReplay(limit: Int = 1_000) async throws -> [String] {
        try await client.query("""
            SELECT coalesce(l.id, r.id) AS id FROM cases l FULL OUTER JOIN cases_replay r ON r.id = l.id
            WHERE l.state IS DISTINCT FROM r.state ORDER BY 1 LIMIT \(limit)
            """).map { try $0.decode("id") }
    }
}
