public import CaseModel
public import Foundation
public import Postgres

/// What administrators read: cases, their audit trails, deadlines, flows,
/// agencies' activity and refusals, as typed rows. The admin API and the
/// command line decide how to show them (`AdminAPI`); nothing here knows
/// their JSON.
public struct AdminQueries: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    // MARK: cases

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

    /// A case as a list shows it.
    public struct CaseSummary: Sendable, Hashable {
        public var id: String
        public var procedure: String
        public var status: String
        public var title: String?
        public var holder: String?
        public var parties: [String]
        /// Each agency's number for the case, by agency id.
        public var numbers: [String: String]
        public var version: Int64
        public var openedAt: Date
        public var updatedAt: Date
        /// Running deadlines already past due.
        public var overdueDeadlines: Int64
    }

    /// A page of cases, most recently updated first.
    public func casePage(_ filter: CaseFilter) async throws -> [CaseSummary] {
        let rows = try await client.query("""
            SELECT c.id, c.procedure, c.status, c.title, c.holder, to_jsonb(c.parties) AS parties, c.numbers, c.version,
                   c.opened_at, c.updated_at,
                   (SELECT count(*) FROM deadlines d WHERE d.case_id = c.id AND d.state = 'running' AND d.due_at <= now()) AS overdue_deadlines
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
            """)
        return try rows.map { row in
            CaseSummary(
                id: try row.decode("id"), procedure: try row.decode("procedure"), status: try row.decode("status"),
                title: try row.decode("title", as: String?.self), holder: try row.decode("holder", as: String?.self),
                parties: try Self.strings(row, "parties"), numbers: try Self.stringMap(row, "numbers"), version: try row.decode("version"),
                openedAt: try row.decode("opened_at"), updatedAt: try row.decode("updated_at"),
                overdueDeadlines: try row.decode("overdue_deadlines"))
        }
    }

    /// A case in full: its state, roles, numbers, links and deadlines.
    public struct CaseRecord: Sendable, Hashable {
        public var id: String
        public var procedure: String
        public var status: String
        public var title: String?
        public var holder: String?
        public var parties: [String]
        /// Each party's role, as the case state records it (an object; empty when none).
        public var roles: JSONValue
        public var numbers: [String: String]
        public var version: Int64
        public var openedAt: Date
        public var updatedAt: Date
        /// Links to other cases, as the case state records them (an array; empty when none).
        public var links: JSONValue
        /// Soonest due first.
        public var deadlines: [DeadlineRecord]
    }

    /// One case; nil if unknown.
    public func caseRecord(_ id: String) async throws -> CaseRecord? {
        let rows = try await client.query("""
            SELECT c.id, c.procedure, c.status, c.title, c.holder, to_jsonb(c.parties) AS parties,
                   coalesce(c.state->'parties', '{}'::jsonb) AS roles, c.numbers, c.version, c.opened_at, c.updated_at,
                   coalesce(c.state->'links', '[]'::jsonb) AS links
            FROM cases c WHERE c.id = \(id)
            """)
        guard let row = rows.first else { return nil }
        let deadlines = try await client.query("""
            SELECT \(unsafeSQL: DeadlineRecord.columns) FROM deadlines WHERE case_id = \(id) ORDER BY due_at, rule_id
            """)
        return CaseRecord(
            id: try row.decode("id"), procedure: try row.decode("procedure"), status: try row.decode("status"),
            title: try row.decode("title", as: String?.self), holder: try row.decode("holder", as: String?.self),
            parties: try Self.strings(row, "parties"), roles: try Self.json(row, "roles"), numbers: try Self.stringMap(row, "numbers"),
            version: try row.decode("version"), openedAt: try row.decode("opened_at"), updatedAt: try row.decode("updated_at"),
            links: try Self.json(row, "links"),
            deadlines: try deadlines.map(DeadlineRecord.init(row:)))
    }

    public func caseExists(_ id: String) async throws -> Bool {
        try await !client.query("SELECT 1 FROM cases WHERE id = \(id)").isEmpty
    }

    /// One entry of the audit trail.
    public struct AuditEntry: Sendable, Hashable {
        public var seq: Int64
        public var eventID: String?
        /// `accepted`, `refused` or `admin`.
        public var outcome: String
        public var type: String
        public var source: String
        public var occurredAt: Date
        public var recordedAt: Date
        public var caseVersion: Int64?
        public var body: JSONValue
        /// The entry's chain hash (SHA-256).
        public var hash: [UInt8]
    }

    /// A case's audit trail, in chain order.
    public func auditTrail(_ caseID: String) async throws -> [AuditEntry] {
        let rows = try await client.query("""
            SELECT seq, event_id, outcome, type, source, occurred_at, recorded_at, case_version, body, hash
            FROM case_events WHERE case_id = \(caseID) ORDER BY seq
            """)
        return try rows.map { row in
            AuditEntry(
                seq: try row.decode("seq"), eventID: try row.decode("event_id", as: String?.self), outcome: try row.decode("outcome"),
                type: try row.decode("type"), source: try row.decode("source"), occurredAt: try row.decode("occurred_at"),
                recordedAt: try row.decode("recorded_at"), caseVersion: try row.decode("case_version", as: Int64?.self),
                body: try Self.json(row, "body"), hash: try row.decode("hash"))
        }
    }

    // MARK: deadlines

    public enum DeadlineStage: String, Sendable {
        case warning, overdue
    }

    /// A running deadline in its warning window or past due, as of an instant.
    public struct DueDeadline: Sendable, Hashable {
        public var caseID: String
        public var rule: String
        public var procedure: String
        public var title: String?
        public var holder: String?
        public var obligedAgency: String
        public var legalBasis: String
        public var warnAt: Date
        public var dueAt: Date
        /// Overdue when due at or before the instant asked about, else warning.
        public var stage: DeadlineStage
        /// Whether the notice for that stage has gone out.
        public var noticeSent: Bool
    }

    /// Running deadlines in their warning window or past due as of `asOf`,
    /// soonest due first.
    public func dueDeadlines(stage: DeadlineStage?, agency: String?, procedure: String?, asOf: Date, limit: Int = 500) async throws -> [DueDeadline] {
        let rows = try await client.query("""
            SELECT * FROM (
                SELECT d.case_id, d.rule_id, c.procedure, c.title, c.holder, d.obliged_agency, d.legal_basis, d.warn_at, d.due_at,
                       d.due_at <= \(asOf) AS overdue,
                       CASE WHEN d.due_at <= \(asOf) THEN d.overdue_sent_at IS NOT NULL ELSE d.warning_sent_at IS NOT NULL END AS notice_sent
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
            ORDER BY due_at, case_id, rule_id
            """)
        return try rows.map { row in
            DueDeadline(
                caseID: try row.decode("case_id"), rule: try row.decode("rule_id"), procedure: try row.decode("procedure"),
                title: try row.decode("title", as: String?.self), holder: try row.decode("holder", as: String?.self),
                obligedAgency: try row.decode("obliged_agency"), legalBasis: try row.decode("legal_basis"),
                warnAt: try row.decode("warn_at"), dueAt: try row.decode("due_at"),
                stage: try row.decode("overdue", as: Bool.self) ? .overdue : .warning, noticeSent: try row.decode("notice_sent"))
        }
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

    // MARK: flows

    /// Deliveries in one time bucket from one sender to one receiver of one
    /// event type, with the latency from the hub's commit to the receiver's
    /// adapter storing them (nil where the hub's record is not found).
    public struct DeliveryFlow: Sendable, Hashable {
        public var bucket: Date
        /// The event's source; nil if it has none.
        public var sender: String?
        public var receiver: String
        public var type: String
        public var count: Int64
        public var latencyP50Seconds: Double?
        public var latencyP99Seconds: Double?
    }

    /// Refusals in one time bucket of one sender with one code.
    public struct RefusalFlow: Sendable, Hashable {
        public var bucket: Date
        public var sender: String?
        public var code: String
        public var count: Int64
    }

    /// Deliveries per time bucket (buckets aligned on 2000-01-01 UTC), sender →
    /// receiver and event type; ordered by bucket, sender, receiver, type.
    public func deliveryFlows(since: Date, until: Date, bucketSeconds: Int) async throws -> [DeliveryFlow] {
        let bucket = Double(bucketSeconds)
        let rows = try await client.query("""
            SELECT date_bin(make_interval(secs => \(bucket)), d.delivered_at, TIMESTAMPTZ '2000-01-01') AS bucket,
                   d.event->>'source' AS sender, d.agency AS receiver, d.type, count(*) AS n,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - e.recorded_at)) AS p50,
                   percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM d.delivered_at - e.recorded_at)) AS p99
            FROM deliveries d
            LEFT JOIN case_events e ON e.event_id = d.event_id AND e.outcome = 'accepted'
            WHERE d.delivered_at >= \(since) AND d.delivered_at < \(until)
            GROUP BY 1, 2, 3, 4
            ORDER BY 1, 2, 3, 4
            """)
        return try rows.map { row in
            DeliveryFlow(
                bucket: try row.decode("bucket"), sender: try row.decode("sender", as: String?.self), receiver: try row.decode("receiver"),
                type: try row.decode("type"), count: try row.decode("n"),
                latencyP50Seconds: try row.decode("p50", as: Double?.self), latencyP99Seconds: try row.decode("p99", as: Double?.self))
        }
    }

    /// Refusals per time bucket, sender and code; ordered by bucket, sender, code.
    public func refusalFlows(since: Date, until: Date, bucketSeconds: Int) async throws -> [RefusalFlow] {
        let bucket = Double(bucketSeconds)
        let rows = try await client.query("""
            SELECT date_bin(make_interval(secs => \(bucket)), received_at, TIMESTAMPTZ '2000-01-01') AS bucket, source, code, count(*) AS n
            FROM rejections WHERE received_at >= \(since) AND received_at < \(until)
            GROUP BY 1, 2, 3
            ORDER BY 1, 2, 3
            """)
        return try rows.map { row in
            RefusalFlow(bucket: try row.decode("bucket"), sender: try row.decode("source", as: String?.self), code: try row.decode("code"),
                        count: try row.decode("n"))
        }
    }

    // MARK: agencies and overview

    /// What one agency has: live tokens, signing keys in use, events it sent
    /// that the hub accepted or refused, and when it last sent one (its
    /// requests its adapter refused are in ``rejectionPage(_:)``).
    public struct AgencyActivity: Sendable, Hashable {
        public var tokens: Int64
        public var keys: Int64
        public var accepted: Int64
        public var refused: Int64
        public var lastEventAt: Date?
    }

    /// Per agency (by id). Agencies that never did anything have no entry.
    public func activityByAgency() async throws -> [String: AgencyActivity] {
        let rows = try await client.query("""
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
                SELECT source, 0, 0, 0, count(*), max(received_at) FROM rejections WHERE stage = 'hub' GROUP BY source
            ) parts
            GROUP BY agency
            """)
        var activity: [String: AgencyActivity] = [:]
        for row in rows {
            activity[try row.decode("agency")] = AgencyActivity(
                tokens: try row.decode("tokens"), keys: try row.decode("keys"), accepted: try row.decode("accepted"),
                refused: try row.decode("refused"), lastEventAt: try row.decode("last_event_at", as: Date?.self))
        }
        return activity
    }

    /// The figures at the top of the dashboard.
    public struct Overview: Sendable, Hashable {
        /// Outbox records not yet published, and the age of the oldest (nil when none).
        public var outboxBacklog: Int64
        public var oldestUnsentSeconds: Double?
        /// Outbox records parked for an administrator (failed for good, or waiting behind one that did).
        public var outboxParked: Int64
        public var cases: Int64
        public var casesByStatus: [String: Int64]
        /// Events the hub accepted.
        public var events: Int64
        /// Refusals of both stages; those of the hub not replayed (an adapter's cannot be).
        public var rejections: Int64
        public var rejectionsNotReplayed: Int64
        public var unacknowledgedDeliveries: Int64
        /// Running deadlines by stage (``deadlineCounts()``).
        public var deadlines: [String: Int]
    }

    /// Outbox backlog, deadlines by stage, cases by status, refusals.
    public func overview() async throws -> Overview {
        let counts = try await client.query("""
            SELECT \(unsafeSQL: OutboxSQL.backlog) AS outbox_backlog,
                   extract(epoch FROM now() - \(unsafeSQL: OutboxSQL.oldestUnsent))::float8 AS oldest_unsent_seconds,
                   \(unsafeSQL: OutboxSQL.parked) AS outbox_parked,
                   (SELECT count(*) FROM cases) AS cases,
                   (SELECT count(*) FROM case_events WHERE outcome = 'accepted') AS events,
                   (SELECT count(*) FROM rejections) AS rejections,
                   (SELECT count(*) FROM rejections WHERE replayed_at IS NULL AND stage = 'hub') AS rejections_not_replayed,
                   (SELECT count(*) FROM deliveries WHERE acked_at IS NULL) AS unacknowledged_deliveries
            """)[0]
        var byStatus: [String: Int64] = [:]
        for row in try await client.query("SELECT status, count(*) AS n FROM cases GROUP BY status") {
            byStatus[try row.decode("status")] = try row.decode("n")
        }
        return Overview(
            outboxBacklog: try counts.decode("outbox_backlog"), oldestUnsentSeconds: try counts.decode("oldest_unsent_seconds", as: Double?.self),
            outboxParked: try counts.decode("outbox_parked"),
            cases: try counts.decode("cases"), casesByStatus: byStatus, events: try counts.decode("events"),
            rejections: try counts.decode("rejections"), rejectionsNotReplayed: try counts.decode("rejections_not_replayed"),
            unacknowledgedDeliveries: try counts.decode("unacknowledged_deliveries"), deadlines: try await deadlineCounts())
    }

    // MARK: rejections

    /// A refused event or request, and its replay if there was one.
    public struct Rejection: Sendable, Hashable {
        public var id: Int64
        /// Who refused it: the hub (an event off an agency topic) or an adapter (an agency's request).
        public var stage: RejectionStage
        public var eventID: String?
        /// The sender; for an adapter's refusal, the agency whose credential made the request.
        public var source: String?
        /// The agency an adapter-stage request claimed to be, where another than ``source``.
        public var claimedAgency: String?
        /// The first 8 bytes of the token's SHA-256 in hex, and its label (adapter stage).
        public var tokenID: String?
        public var tokenLabel: String?
        /// The request and the status it was answered with (adapter stage;
        /// for a record refused on a delivery topic, where it was, and no status).
        public var request: String?
        public var httpStatus: Int?
        /// The record's topic (hub stage, and a delivery record an adapter
        /// refused); nil for a refused request.
        public var topic: String?
        public var caseID: String?
        public var type: String?
        public var code: String
        public var reason: String
        /// The broken rules, as recorded (an array).
        public var violations: JSONValue
        /// Bytes of the refused record (hub) or request body (adapter); nil when unknown.
        public var bodySize: Int64?
        /// SHA-256 of an adapter-stage body as read; nil otherwise.
        public var bodySHA256: [UInt8]?
        /// Whether the whole record or body is kept (adapter stage: at most ``RefusedBody/storedLimit`` bytes).
        public var bodyStored: Bool
        public var receivedAt: Date
        public var replayedAt: Date?
        public var replayReason: String?
        public var replayedBy: String?
    }

    public struct RejectionFilter: Sendable {
        /// The sender (or credential's agency), or the agency an adapter-stage request claimed to be.
        public var agency: String?
        public var code: String?
        public var stage: RejectionStage?
        public var limit = 50
        public var offset = 0
        public init() {}
    }

    /// Refusals of both stages, newest first.
    public func rejectionPage(_ filter: RejectionFilter) async throws -> [Rejection] {
        let rows = try await client.query("""
            SELECT r.id, r.stage, r.event_id, r.source, r.claimed_agency,
                   encode(substring(r.token_hash FROM 1 FOR 8), 'hex') AS token_id, t.label AS token_label,
                   r.request, r.http_status, r.topic, r.case_id, r.type, r.code, r.reason, r.violations,
                   coalesce(r.body_size, CASE WHEN r.stage = 'hub' THEN octet_length(r.value) END) AS body_size, r.body_sha256,
                   r.stage = 'hub' OR (r.body_sha256 IS NOT NULL AND octet_length(r.value) = r.body_size) AS body_stored,
                   r.received_at, r.replayed_at, r.replay_reason, r.replayed_by
            FROM rejections r
            LEFT JOIN agency_tokens t ON t.token_hash = r.token_hash
            WHERE (\(filter.agency)::text IS NULL OR r.source = \(filter.agency) OR r.claimed_agency = \(filter.agency))
              AND (\(filter.code)::text IS NULL OR r.code = \(filter.code))
              AND (\(filter.stage?.rawValue)::text IS NULL OR r.stage = \(filter.stage?.rawValue))
            ORDER BY r.id DESC
            LIMIT \(Int64(filter.limit)) OFFSET \(Int64(filter.offset))
            """)
        return try rows.map { row in
            Rejection(
                id: try row.decode("id"), stage: RejectionStage(rawValue: try row.decode("stage")) ?? .hub,
                eventID: try row.decode("event_id", as: String?.self), source: try row.decode("source", as: String?.self),
                claimedAgency: try row.decode("claimed_agency", as: String?.self), tokenID: try row.decode("token_id", as: String?.self),
                tokenLabel: try row.decode("token_label", as: String?.self), request: try row.decode("request", as: String?.self),
                httpStatus: try row.decode("http_status", as: Int?.self),
                topic: try row.decode("topic", as: String?.self), caseID: try row.decode("case_id", as: String?.self), type: try row.decode("type", as: String?.self),
                code: try row.decode("code"), reason: try row.decode("reason"), violations: try Self.json(row, "violations"),
                bodySize: try row.decode("body_size", as: Int64?.self), bodySHA256: try row.decode("body_sha256", as: [UInt8]?.self),
                bodyStored: try row.decode("body_stored"),
                receivedAt: try row.decode("received_at"), replayedAt: try row.decode("replayed_at", as: Date?.self),
                replayReason: try row.decode("replay_reason", as: String?.self), replayedBy: try row.decode("replayed_by", as: String?.self))
        }
    }

    // MARK: decoding

    /// A `jsonb` column as a value.
    static func json(_ row: PostgresRow, _ column: String) throws -> JSONValue {
        try JSONValue.parse(try row.decode(column, as: PostgresJSON.self).bytes)
    }

    /// A `jsonb` array of strings (a `text[]` column through `to_jsonb`).
    static func strings(_ row: PostgresRow, _ column: String) throws -> [String] {
        (try json(row, column).arrayValue ?? []).compactMap(\.stringValue)
    }

    /// A `jsonb` object of strings (each agency's number).
    static func stringMap(_ row: PostgresRow, _ column: String) throws -> [String: String] {
        (try json(row, column).objectValue ?? [:]).compactMapValues(\.stringValue)
    }
}
