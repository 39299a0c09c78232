import CaseModel
import Foundation
import Postgres

/// What administrators read: cases, their audit trails, deadlines and
/// refusals, as JSON built by PostgreSQL (one query per answer).
public struct AdminQueries: Sendable {
    public let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    public struct CaseFilter: Sendable {
        public var procedure: String?
        public var status: String?
        public var agency: String?
        /// Only cases with (true) or without (false) a running deadline past due.
        public var overdue: Bool?
        /// Any agency's number for the case, exactly.
        public var number: String?
        public var updatedSince: Date?
        public var updatedUntil: Date?
        public var limit = 50
        public var offset = 0
        public init() {}
    }

    /// A page of cases, most recently updated first.
    public func cases(_ filter: CaseFilter) async throws -> JSONValue {
        try await json("""
            SELECT coalesce(jsonb_agg(item ORDER BY updated_at DESC, id), '[]'::jsonb)::text FROM (
                SELECT c.id, c.updated_at, jsonb_build_object(
                    'caseId', c.id, 'procedure', c.procedure, 'status', c.status, 'title', c.title, 'holder', c.holder,
                    'parties', to_jsonb(c.parties), 'numbers', c.numbers, 'version', c.version,
                    'openedAt', c.opened_at, 'updatedAt', c.updated_at,
                    'overdueDeadlines', (SELECT count(*) FROM deadlines d WHERE d.case_id = c.id AND d.state = 'running' AND d.due_at <= now())
                ) AS item
                FROM cases c
                WHERE (\(filter.procedure)::text IS NULL OR c.procedure = \(filter.procedure))
                  AND (\(filter.status)::text IS NULL OR c.status = \(filter.status))
                  AND (\(filter.agency)::text IS NULL OR \(filter.agency) = ANY(c.parties))
                  AND (\(filter.number)::text IS NULL OR EXISTS (SELECT 1 FROM jsonb_each_text(c.numbers) n WHERE n.value = \(filter.number)))
                  AND (\(filter.updatedSince)::timestamptz IS NULL OR c.updated_at >= \(filter.updatedSince))
                  AND (\(filter.updatedUntil)::timestamptz IS NULL OR c.updated_at < \(filter.updatedUntil))
                  AND (\(filter.overdue)::boolean IS NULL OR \(filter.overdue) = EXISTS (
                        SELECT 1 FROM deadlines d WHERE d.case_id = c.id AND d.state = 'running' AND d.due_at <= now()))
                ORDER BY c.updated_at DESC, c.id
                LIMIT \(Int64(filter.limit)) OFFSET \(Int64(filter.offset))
            ) page
            """)
    }

    /// One case: its state, every agency's number, links and deadlines; nil if unknown.
    public func caseDetail(_ id: String) async throws -> JSONValue? {
        let value = try await json("""
            SELECT jsonb_build_object(
                'caseId', c.id, 'procedure', c.procedure, 'status', c.status, 'title', c.title, 'holder', c.holder,
                'parties', to_jsonb(c.parties), 'roles', coalesce(c.state->'parties', '{}'::jsonb), 'numbers', c.numbers,
                'version', c.version, 'openedAt', c.opened_at, 'updatedAt', c.updated_at,
                'links', coalesce(c.state->'links', '[]'::jsonb),
                'deadlines', coalesce((SELECT jsonb_agg(jsonb_build_object(
                        'rule', d.rule_id, 'obligedAgency', d.obliged_agency, 'legalBasis', d.legal_basis, 'state', d.state,
                        'startedAt', d.started_at, 'warnAt', d.warn_at, 'dueAt', d.due_at, 'closedAt', d.closed_at,
                        'warningSentAt', d.warning_sent_at, 'overdueSentAt', d.overdue_sent_at) ORDER BY d.due_at)
                    FROM deadlines d WHERE d.case_id = c.id), '[]'::jsonb)
            )::text FROM cases c WHERE c.id = \(id)
            """)
        // Not `value == .null ? nil : value`: JSONValue is ExpressibleByNilLiteral, so that `nil` would be `.null`.
        if value == .null { return nil }
        return value
    }

    public func caseExists(_ id: String) async throws -> Bool {
        try await !client.query("SELECT 1 FROM cases WHERE id = \(id)").isEmpty
    }

    /// A case's audit trail, in chain order.
    public func caseEvents(_ id: String) async throws -> JSONValue {
        try await json("""
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                'seq', seq, 'eventId', event_id, 'outcome', outcome, 'type', type, 'source', source,
                'occurredAt', occurred_at, 'recordedAt', recorded_at, 'caseVersion', case_version, 'body', body,
                'hash', encode(hash, 'hex')) ORDER BY seq), '[]'::jsonb)::text
            FROM case_events WHERE case_id = \(id)
            """)
    }

    public enum DeadlineStage: String, Sendable {
        case warning, overdue
    }

    /// Running deadlines in their warning window or past due as of `asOf`,
    /// soonest due first.
    public func deadlines(stage: DeadlineStage?, agency: String?, procedure: String?, asOf: Date, limit: Int = 500) async throws -> JSONValue {
        try await json("""
            SELECT coalesce(jsonb_agg(item ORDER BY due_at, case_id, rule_id), '[]'::jsonb)::text FROM (
                SELECT d.due_at, d.case_id, d.rule_id, jsonb_build_object(
                    'caseId', d.case_id, 'rule', d.rule_id, 'procedure', c.procedure, 'title', c.title, 'holder', c.holder,
                    'obligedAgency', d.obliged_agency, 'legalBasis', d.legal_basis, 'warnAt', d.warn_at, 'dueAt', d.due_at,
                    'stage', CASE WHEN d.due_at <= \(asOf) THEN 'overdue' ELSE 'warning' END,
                    'noticeSent', CASE WHEN d.due_at <= \(asOf) THEN d.overdue_sent_at IS NOT NULL ELSE d.warning_sent_at IS NOT NULL END
                ) AS item
                FROM deadlines d JOIN cases c ON c.id = d.case_id
                WHERE d.state = 'running' AND d.warn_at <= \(asOf)
                  AND (\(stage?.rawValue)::text IS NULL
                       OR (\(stage?.rawValue) = 'overdue' AND d.due_at <= \(asOf))
                       OR (\(stage?.rawValue) = 'warning' AND d.due_at > \(asOf)))
                  AND (\(agency)::text IS NULL OR d.obliged_agency = \(agency) OR c.holder = \(agency))
                  AND (\(procedure)::text IS NULL OR c.procedure = \(procedure))
                ORDER BY d.due_at
                LIMIT \(Int64(limit))
            ) due
            """)
    }

    /// Deliveries per time bucket, sender → receiver and event type, with the
    /// latency from the hub's commit to the receiver's adapter storing it;
    /// and refusals per bucket, sender and code.
    public func flows(since: Date, until: Date, bucketSeconds: Int) async throws -> JSONValue {
        let bucket = Double(bucketSeconds)
        // Buckets are computed once, in the inner query; the outer one only shapes the JSON.
        let deliveries = try await json("""
            SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'bucket', bucket, 'sender', sender, 'receiver', receiver, 'type', type, 'count', n,
                       'latencyP50Seconds', p50, 'latencyP99Seconds', p99) ORDER BY bucket, sender, receiver, type), '[]'::jsonb)::text
            FROM (
                SELECT date_bin(make_interval(secs => \(bucket)), d.delivered_at, TIMESTAMPTZ '2000-01-01') AS bucket,
                       d.event->>'source' AS sender, d.agency AS receiver, d.type, count(*) AS n,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - e.recorded_at)) AS p50,
                       percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - e.recorded_at)) AS p99
                FROM deliveries d
                LEFT JOIN case_events e ON e.event_id = d.event_id AND e.outcome = 'accepted'
                WHERE d.delivered_at >= \(since) AND d.delivered_at < \(until)
                GROUP BY 1, 2, 3, 4
            ) flows
            """)
        let refusals = try await json("""
            SELECT coalesce(jsonb_agg(jsonb_build_object('bucket', bucket, 'sender', source, 'code', code, 'count', n)
                                      ORDER BY bucket, source, code), '[]'::jsonb)::text
            FROM (
                SELECT date_bin(make_interval(secs => \(bucket)), received_at, TIMESTAMPTZ '2000-01-01') AS bucket, source, code, count(*) AS n
                FROM rejections WHERE received_at >= \(since) AND received_at < \(until)
                GROUP BY 1, 2, 3
            ) refused
            """)
        return .object(["deliveries": deliveries, "refusals": refusals])
    }

    /// Running deadlines by stage now: running (not yet warned), warning, overdue.
    public func deadlineCounts() async throws -> [String: Int] {
        let rows = try await client.query("""
            SELECT CASE WHEN due_at <= now() THEN 'overdue' WHEN warn_at <= now() THEN 'warning' ELSE 'running' END AS stage, count(*) AS n
            FROM deadlines WHERE state = 'running' GROUP BY 1
            """)
        var counts = ["running": 0, "warning": 0, "overdue": 0]
        for row in rows { counts[try row.decode("stage", as: String.self)] = try row.decode("n", as: Int.self) }
        return counts
    }

    /// Per agency: live tokens, signing keys in use, events it sent that the
    /// hub accepted or refused, and when it last sent one. Agencies that never
    /// did anything have no row.
    public func agencyActivity() async throws -> [String: JSONValue] {
        let activity = try await json("""
            SELECT coalesce(jsonb_object_agg(agency, jsonb_build_object(
                       'tokens', tokens, 'keys', keys, 'accepted', accepted, 'refused', refused, 'lastEventAt', last_event_at)), '{}'::jsonb)::text
            FROM (
                SELECT agency, sum(tokens) AS tokens, sum(keys) AS keys, sum(accepted) AS accepted, sum(refused) AS refused,
                       max(last_event_at) AS last_event_at
                FROM (
                    SELECT agency, count(*) AS tokens, 0 AS keys, 0 AS accepted, 0 AS refused, NULL::timestamptz AS last_event_at
                    FROM agency_tokens WHERE revoked_at IS NULL GROUP BY agency
                    UNION ALL
                    SELECT agency, 0, count(*), 0, 0, NULL FROM agency_keys WHERE retired_at IS NULL GROUP BY agency
                    UNION ALL
                    SELECT source, 0, 0, count(*), 0, max(recorded_at) FROM case_events WHERE outcome = 'accepted' GROUP BY source
                    UNION ALL
                    SELECT source, 0, 0, 0, count(*), max(received_at) FROM rejections GROUP BY source
                ) parts
                GROUP BY agency
            ) per_agency
            """)
        return activity.objectValue ?? [:]
    }

    /// The figures at the top of the dashboard: outbox backlog, deadlines by
    /// stage, cases by status, refusals.
    public func overview() async throws -> JSONValue {
        let counts = try await json("""
            SELECT jsonb_build_object(
                'outboxBacklog', (SELECT count(*) FROM outbox WHERE sent_at IS NULL),
                'oldestUnsentSeconds', (SELECT extract(epoch FROM now() - min(created_at)) FROM outbox WHERE sent_at IS NULL),
                'cases', (SELECT count(*) FROM cases),
                'casesByStatus', (SELECT coalesce(jsonb_object_agg(status, n), '{}'::jsonb)
                                  FROM (SELECT status, count(*) AS n FROM cases GROUP BY status) s),
                'events', (SELECT count(*) FROM case_events WHERE outcome = 'accepted'),
                'rejections', (SELECT count(*) FROM rejections),
                'rejectionsNotReplayed', (SELECT count(*) FROM rejections WHERE replayed_at IS NULL),
                'unacknowledgedDeliveries', (SELECT count(*) FROM deliveries WHERE acked_at IS NULL)
            )::text
            """)
        guard case .object(var body) = counts else { return counts }
        body["deadlines"] = .object(try await deadlineCounts().mapValues { .integer(Int64($0)) })
        return .object(body)
    }

    /// Refused events, newest first.
    public func rejections(agency: String?, code: String?, limit: Int, offset: Int) async throws -> JSONValue {
        try await json("""
            SELECT coalesce(jsonb_agg(item ORDER BY id DESC), '[]'::jsonb)::text FROM (
                SELECT id, jsonb_build_object(
                    'id', id, 'eventId', event_id, 'source', source, 'topic', topic, 'caseId', case_id, 'type', type,
                    'code', code, 'reason', reason, 'violations', violations, 'receivedAt', received_at,
                    'replayedAt', replayed_at, 'replayReason', replay_reason, 'replayedBy', replayed_by) AS item
                FROM rejections
                WHERE (\(agency)::text IS NULL OR source = \(agency)) AND (\(code)::text IS NULL OR code = \(code))
                ORDER BY id DESC
                LIMIT \(Int64(limit)) OFFSET \(Int64(offset))
            ) page
            """)
    }

    private func json(_ query: PostgresQuery) async throws -> JSONValue {
        let rows = try await client.query(query)
        guard let text = try rows.first?.decode(0, as: String?.self) else { return .null }
        return try JSONValue.parse(Array(text.utf8))
    }
}
