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

    /// Every accepted event in audit order, streamed with one COPY (binary)
    /// instead of page after page. `body` gets chunks of about a megabyte
    /// still encoded, while the next are read: ``AuditedEventChunk/decode()``
    /// them, on other tasks if wanted, and apply them in the order received.
    public func streamAcceptedEvents(_ body: (AuditedEventChunk) async throws -> Void) async throws {
        try await client.withConnection { connection in
            // One statement for the whole trail, as slow as `body`: exempt from
            // the session's statement timeout, for this transaction only.
            try await connection.executeScript(unsafeSQL: "BEGIN READ ONLY; SET LOCAL statement_timeout = 0")
            do {
                try await connection.copyRows(unsafeSQL: """
                    SELECT seq, body, recorded_at FROM case_events WHERE outcome = 'accepted' ORDER BY seq
                    """) { rows in
                    try await body(AuditedEventChunk(rows: rows))
                }
                try await connection.executeScript(unsafeSQL: "COMMIT")
            } catch {
                // An abandoned COPY leaves the session unusable; the pool drops it.
                try? await connection.executeScript(unsafeSQL: "ROLLBACK")
                throw error
            }
        }
    }

    /// Accepted audit entries as read, not yet decoded.
    public struct AuditedEventChunk: Sendable {
        let rows: PostgresCopyRows

        public var count: Int { rows.count }

        /// The chunk's events, in audit order.
        public func decode() throws -> [AuditedEvent] {
            var events: [AuditedEvent] = []
            events.reserveCapacity(rows.count)
            try rows.forEach { row in
                events.append(AuditedEvent(
                    seq: try row.int64(0),
                    event: try CloudEvent(structured: try JSONValue.parse(try row.jsonb(1))),
                    recordedAt: try row.date(2)))
            }
            return events
        }
    }

    /// Replaces the rows of `cases_replay` (a table of migration 18: this
    /// runs as the administrators' role, which creates no table) with these states.
    public func storeReplayedCases(_ states: some Collection<CaseState>) async throws {
        let rows = try await Self.encodedRows(Array(states))
        try await client.withConnection { connection in
            try await connection.executeScript(unsafeSQL: "TRUNCATE cases_replay")
            try await connection.copy(into: "cases_replay", columns: ["id", "state"], rows: rows)
        }
    }

    /// `cases_replay` rows, encoded in parallel slices (a million events
    /// rebuild a hundred thousand states), in the states' order.
    private static func encodedRows(_ states: [CaseState]) async throws -> [[(any PostgresEncodable)?]] {
        let slices = max(1, min(ProcessInfo.processInfo.activeProcessorCount, states.count / 5_000))
        let size = (states.count + slices - 1) / max(slices, 1)
        return try await withThrowingTaskGroup(of: (Int, [[(any PostgresEncodable)?]]).self) { group in
            for slice in 0..<slices {
                let part = states[min(slice * size, states.count)..<min((slice + 1) * size, states.count)]
                group.addTask { (slice, try part.map { [$0.caseID, PostgresJSON(try $0.encoded())] }) }
            }
            var parts = [[[(any PostgresEncodable)?]]](repeating: [], count: slices)
            for try await (slice, rows) in group { parts[slice] = rows }
            return parts.flatMap { $0 }
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
