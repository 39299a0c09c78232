import CaseModel
import Foundation
import Postgres

/// The hub's writes inside one PostgreSQL transaction: inbox, case state,
/// audit trail, outbox and rejections. Created by ``HubStore/withTransaction(_:)``.
public struct HubTransaction: Sendable {
    let connection: PostgresConnection
    /// Head of the audit chain, locked for this transaction.
    private(set) var head: (seq: Int64, hash: [UInt8])
    private(set) var pendingAudit: [(entry: AuditEntry, previous: [UInt8], hash: [UInt8])] = []

    init(connection: PostgresConnection) async throws {
        self.connection = connection
        // Lock the chain head: appends of concurrent hub transactions take turns.
        let rows = try await connection.query("SELECT seq, hash FROM audit_head FOR UPDATE")
        head = (try rows[0].decode("seq", as: Int64.self), try rows[0].decode("hash", as: [UInt8].self))
    }

    public enum InboxClaim: Sendable, Equatable {
        /// First time this id is seen: process it.
        case new
        /// Seen before with the same content: a replay, absorbed.
        case duplicate
        /// Seen before with different content: refused.
        case conflicting
    }

    /// Records an event id as processed, unless it was already.
    public func claimInbox(eventID: UUID, source: String, contentHash: [UInt8]) async throws -> InboxClaim {
        let inserted = try await connection.execute("""
            INSERT INTO inbox (event_id, source, content_hash) VALUES (\(eventID), \(source), \(contentHash))
            ON CONFLICT (event_id) DO NOTHING
            """)
        if inserted == 1 { return .new }
        let rows = try await connection.query("SELECT content_hash FROM inbox WHERE event_id = \(eventID)")
        return try rows[0].decode(0, as: [UInt8].self) == contentHash ? .duplicate : .conflicting
    }

    /// The case with this id, locked until commit; `nil` if it does not exist.
    public func lockCase(_ id: String) async throws -> CaseState? {
        let rows = try await connection.query("SELECT state FROM cases WHERE id = \(id) FOR UPDATE")
        return try rows.first.map { try CaseState.decoded(try $0.decode("state", as: String.self)) }
    }

    /// Inserts or updates a case: its whole state, and the columns queries use.
    public func saveCase(_ state: CaseState) async throws {
        let numbers = JSONValue.object(Dictionary(uniqueKeysWithValues: state.numbers.map { ($0.key.rawValue, JSONValue.string($0.value)) }))
        try await connection.execute("""
            INSERT INTO cases (id, procedure, status, holder, parties, numbers, version, opened_at, updated_at, title, state)
            VALUES (\(state.caseID), \(state.procedure.rawValue), \(state.status), \(state.parties[.holder]?.rawValue),
                    \(PostgresArray(state.partyAgencies.map { Optional($0.rawValue) }))::text[], \(PostgresJSON(numbers.canonicalString)),
                    \(Int64(state.version)), \(state.openedAt), \(state.updatedAt), \(state.title), \(PostgresJSON(try state.encoded())))
            ON CONFLICT (id) DO UPDATE SET
                procedure = EXCLUDED.procedure, status = EXCLUDED.status, holder = EXCLUDED.holder,
                parties = EXCLUDED.parties, numbers = EXCLUDED.numbers, version = EXCLUDED.version,
                updated_at = EXCLUDED.updated_at, title = EXCLUDED.title, state = EXCLUDED.state
            """)
    }

    /// Writes deadlines that started, were met or stopped. A restarted rule
    /// replaces the old row and may warn again.
    public func saveDeadlines(caseID: String, _ deadlines: [StatutoryDeadline]) async throws {
        for deadline in deadlines {
            try await connection.execute("""
                INSERT INTO deadlines (case_id, rule_id, obliged_agency, legal_basis, trigger_event_id, trigger_event_type,
                                       started_at, due_at, warn_at, state, closed_at)
                VALUES (\(caseID), \(deadline.rule.id), \(deadline.obligedAgency.rawValue), \(deadline.rule.legalBasis),
                        \(deadline.triggerEventID), \(deadline.triggerEventType), \(deadline.startedAt), \(deadline.dueAt),
                        \(deadline.warnAt), \(deadline.state.rawValue), \(deadline.closedAt))
                ON CONFLICT (case_id, rule_id) DO UPDATE SET
                    obliged_agency = EXCLUDED.obliged_agency, legal_basis = EXCLUDED.legal_basis,
                    trigger_event_id = EXCLUDED.trigger_event_id, trigger_event_type = EXCLUDED.trigger_event_type,
                    started_at = EXCLUDED.started_at, due_at = EXCLUDED.due_at, warn_at = EXCLUDED.warn_at,
                    state = EXCLUDED.state, closed_at = EXCLUDED.closed_at,
                    warning_sent_at = CASE WHEN deadlines.trigger_event_id = EXCLUDED.trigger_event_id THEN deadlines.warning_sent_at END,
                    overdue_sent_at = CASE WHEN deadlines.trigger_event_id = EXCLUDED.trigger_event_id THEN deadlines.overdue_sent_at END
                """)
        }
    }

    /// Appends an entry to the audit trail (written at ``flush()``); assigns its seq.
    @discardableResult
    public mutating func appendAudit(
        eventID: String?, caseID: String?, outcome: AuditEntry.Outcome, type: String, source: String,
        occurredAt: Date, recordedAt: Date, caseVersion: Int64?, body: JSONValue
    ) -> AuditEntry {
        let entry = AuditEntry(
            seq: head.seq + 1, eventID: eventID, caseID: caseID, outcome: outcome, type: type, source: source,
            occurredAt: AuditEntry.storable(occurredAt), recordedAt: AuditEntry.storable(recordedAt),
            caseVersion: caseVersion, body: body)
        let hash = AuditChain.hash(previous: head.hash, entry: entry)
        pendingAudit.append((entry, head.hash, hash))
        head = (entry.seq, hash)
        return entry
    }

    /// Queues a Kafka record to publish after commit.
    public func enqueue(_ records: [OutboxRecord]) async throws {
        guard !records.isEmpty else { return }
        let rows: [[(any PostgresEncodable)?]] = records.map { record in
            [record.topic, record.key, PostgresJSON(record.headersJSON.canonicalString), record.value]
        }
        try await connection.copy(into: "outbox", columns: ["topic", "key", "headers", "value"], rows: rows)
    }

    /// Records a refused event for administrators.
    public func recordRejection(_ rejection: RejectionRecord) async throws {
        try await connection.execute("""
            INSERT INTO rejections (event_id, source, topic, case_id, type, code, reason, violations, headers, value)
            VALUES (\(rejection.eventID), \(rejection.source), \(rejection.topic), \(rejection.caseID), \(rejection.type),
                    \(rejection.code), \(rejection.reason), \(PostgresJSON(rejection.violations.canonicalString)),
                    \(PostgresJSON(rejection.headersJSON.canonicalString)), \(rejection.value))
            """)
    }

    /// Writes the audit entries appended so far and moves the chain head.
    mutating func flush() async throws {
        guard !pendingAudit.isEmpty else { return }
        let rows: [[(any PostgresEncodable)?]] = pendingAudit.map { item in
            let entry = item.entry
            return [entry.seq, entry.eventID, entry.caseID, entry.outcome.rawValue, entry.type, entry.source,
                    entry.occurredAt, entry.recordedAt, entry.caseVersion, PostgresJSON(entry.body.canonicalString),
                    item.previous, item.hash]
        }
        try await connection.copy(into: "case_events", columns: [
            "seq", "event_id", "case_id", "outcome", "type", "source", "occurred_at", "recorded_at",
            "case_version", "body", "prev_hash", "hash",
        ], rows: rows)
        try await connection.execute("UPDATE audit_head SET seq = \(head.seq), hash = \(head.hash)")
        pendingAudit.removeAll()
    }
}

/// A running deadline whose warning or overdue notice is due.
public struct DueDeadline: Sendable {
    public var caseID: String
    public var ruleID: String
    public var obligedAgency: String
    public var legalBasis: String
    public var dueAt: Date
    public var warnAt: Date
    public var warningSent: Bool
    public var holder: String?
}

extension HubTransaction {
    /// Running deadlines with a notice due as of `instant`, locked; rows other
    /// schedulers hold are skipped.
    public func lockDueDeadlines(asOf instant: Date, limit: Int) async throws -> [DueDeadline] {
        let rows = try await connection.query("""
            SELECT d.case_id, d.rule_id, d.obliged_agency, d.legal_basis, d.due_at, d.warn_at,
                   d.warning_sent_at IS NOT NULL AS warning_sent, c.holder
            FROM deadlines d JOIN cases c ON c.id = d.case_id
            WHERE d.state = 'running'
              AND ((d.warn_at <= \(instant) AND d.warning_sent_at IS NULL) OR (d.due_at <= \(instant) AND d.overdue_sent_at IS NULL))
            ORDER BY d.due_at
            LIMIT \(limit)
            FOR UPDATE OF d SKIP LOCKED
            """)
        return try rows.map { row in
            DueDeadline(caseID: try row.decode("case_id"), ruleID: try row.decode("rule_id"),
                        obligedAgency: try row.decode("obliged_agency"), legalBasis: try row.decode("legal_basis"),
                        dueAt: try row.decode("due_at"), warnAt: try row.decode("warn_at"),
                        warningSent: try row.decode("warning_sent"), holder: try row.decode("holder", as: String?.self))
        }
    }

    /// Records that a deadline's notice went out; `overdue` also settles the warning.
    public func markNotified(caseID: String, ruleID: String, overdue: Bool, at instant: Date) async throws {
        if overdue {
            try await connection.execute("""
                UPDATE deadlines SET overdue_sent_at = \(instant), warning_sent_at = coalesce(warning_sent_at, \(instant))
                WHERE case_id = \(caseID) AND rule_id = \(ruleID)
                """)
        } else {
            try await connection.execute("""
                UPDATE deadlines SET warning_sent_at = \(instant) WHERE case_id = \(caseID) AND rule_id = \(ruleID)
                """)
        }
    }
}
