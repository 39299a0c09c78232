public import CaseModel
public import Foundation
import Postgres

/// The hub's writes inside one PostgreSQL transaction: inbox, case state,
/// audit trail, outbox and rejections. Created by ``HubStore/withTransaction(_:)``.
///
/// Reads (inbox claims, case locks) go to the database at once, for a whole
/// batch per statement; writes are collected and sent at ``flush()`` as one
/// multi-row statement or COPY per table — a few round trips per batch
/// whatever its size.
public struct HubTransaction: Sendable {
    let connection: PostgresConnection
    /// How many audit chains the database has (``AuditShards``).
    let auditShardCount: Int
    private var pendingAudit: [AuditEntry] = []
    private var pendingCases: [String: CaseState] = [:]
    private var pendingCaseOrder: [String] = []
    private var pendingDeadlines: [DeadlineKey: (caseID: String, deadline: StatutoryDeadline, overdueNoticeAt: Date?)] = [:]
    private var pendingDeadlineOrder: [DeadlineKey] = []
    private var pendingRejections: [RejectionRecord] = []
    private var releasedClaims: [InboxEntry] = []
    private var pendingOutbox: [OutboxRecord] = []
    /// Every audit entry appended in this transaction: what it decided. Their
    /// chain and position are assigned when the transaction writes them.
    public private(set) var appended: [AuditEntry] = []
    /// The cases this transaction wrote, with their rows' new versions (for
    /// a cache of committed states: valid once the transaction commits).
    public private(set) var written: [String: CachedCase] = [:]
    /// Cases whose stored JSON was read and decoded (not served from a cache).
    public private(set) var statesRead = 0
    /// How each deadline this transaction closed ended: `met`, `met-late` or
    /// `stopped` (counted by the hub once the transaction commits).
    public private(set) var closedDeadlines: [String] = []

    private struct DeadlineKey: Hashable, Sendable {
        var caseID: String
        var ruleID: String
    }

    init(connection: PostgresConnection, auditShardCount: Int) {
        self.connection = connection
        self.auditShardCount = auditShardCount
    }

    // MARK: inbox

    public enum InboxClaim: Sendable, Equatable {
        /// First time this id is seen: process it.
        case new
        /// Seen before with the same content: a replay, absorbed.
        case duplicate
        /// Seen before with different content: refused.
        case conflicting
    }

    public struct InboxEntry: Sendable {
        public var eventID: UUID
        public var source: String
        public var contentHash: [UInt8]
        fileprivate var key: InboxClaimStatement.Key { .init(source: source, eventID: eventID) }
        public init(eventID: UUID, source: String, contentHash: [UInt8]) {
            self.eventID = eventID
            self.source = source
            self.contentHash = contentHash
        }
    }

    /// Records event ids as processed, unless they were already; one claim
    /// per entry, in order. A repeated id within `entries` is judged against
    /// its first occurrence.
    public func claimInbox(_ entries: [InboxEntry]) async throws -> [InboxClaim] {
        let claim = InboxClaimStatement(entries)
        guard let query = claim.query else { return claim.claims(from: nil) }
        return try await claim.resolve(try await connection.query(query), on: connection)
    }

    /// ``claimInbox(_:)`` and ``lockCases(_:cached:)`` in one round trip (the
    /// transaction's BEGIN goes with them): the first reads of every batch.
    public mutating func claimInboxAndLockCases(
        _ entries: [InboxEntry], cases ids: Set<String>, cached: [String: CachedCase] = [:]
    ) async throws -> (claims: [InboxClaim], cases: [String: CaseState]) {
        let claim = InboxClaimStatement(entries)
        let sorted = ids.sorted()
        var pipeline = PostgresPipeline()
        let claimIndex = claim.query.map { pipeline.append($0) }
        let lockIndex = sorted.isEmpty ? nil : pipeline.append(Self.lockQuery(sorted, cached: cached))
        let results = pipeline.isEmpty ? [] : try await connection.pipeline(pipeline.queries)
        let claims = if let claimIndex { try await claim.resolve(results[claimIndex], on: connection) } else { claim.claims(from: nil) }
        let cases = try lockIndex.map { try readLocked(results[$0], ids: ids, cached: cached) } ?? [:]
        return (claims, cases)
    }

    /// The inbox claim of a batch: one statement for all its distinct ids.
    /// An event id is unique per sender (CloudEvents: `source` and `id`), so
    /// one agency's ids never collide with another's.
    fileprivate struct InboxClaimStatement {
        struct Key: Hashable {
            let source: String
            let eventID: UUID
        }
        let entries: [InboxEntry]
        var firstIndex: [Key: Int] = [:]
        var unique: [InboxEntry] = []

        init(_ entries: [InboxEntry]) {
            self.entries = entries
            for entry in entries where firstIndex[entry.key] == nil {
                firstIndex[entry.key] = unique.count
                unique.append(entry)
            }
        }

        var query: PostgresQuery? {
            guard !unique.isEmpty else { return nil }
            // Rows inserted by this statement are invisible to its own join:
            // `existing` shows only what was there before.
            return """
                WITH input AS (
                    SELECT * FROM unnest(\(PostgresArray(unique.map(\.eventID)))::uuid[], \(PostgresArray(unique.map { Optional($0.source) }))::text[],
                                         \(PostgresArray(elements: unique.map(\.contentHash)))::bytea[]) WITH ORDINALITY AS t(event_id, source, content_hash, n)
                ), inserted AS (
                    INSERT INTO inbox (event_id, source, content_hash)
                    SELECT event_id, source, content_hash FROM input ORDER BY n
                    ON CONFLICT (source, event_id) DO NOTHING
                    RETURNING source, event_id
                )
                SELECT input.n, inserted.event_id IS NOT NULL AS inserted, existing.content_hash = input.content_hash AS same
                FROM input LEFT JOIN inserted USING (source, event_id)
                     LEFT JOIN inbox existing ON existing.source = input.source AND existing.event_id = input.event_id
                """
        }

        /// The claims from the statement's rows (a second read for ids
        /// another transaction inserted while this one waited).
        func resolve(_ rows: PostgresRows, on connection: PostgresConnection) async throws -> [InboxClaim] {
            var claims = [InboxClaim?](repeating: nil, count: unique.count)
            var unresolved: [Int] = []
            for row in rows {
                let index = try row.decode("n", as: Int.self) - 1
                if try row.decode("inserted", as: Bool.self) {
                    claims[index] = .new
                } else if let same = try row.decode("same", as: Bool?.self) {
                    claims[index] = same ? .duplicate : .conflicting
                } else {
                    unresolved.append(index)
                }
            }
            // Inserted by another transaction that committed while this
            // statement waited: visible to a new statement.
            if !unresolved.isEmpty {
                let rows = try await connection.query("""
                    SELECT i.source, i.event_id, i.content_hash
                    FROM inbox i JOIN unnest(\(PostgresArray(unresolved.map { Optional(unique[$0].source) }))::text[],
                                            \(PostgresArray(unresolved.map { unique[$0].eventID }))::uuid[]) AS k(source, event_id)
                         ON i.source = k.source AND i.event_id = k.event_id
                    """)
                var stored: [Key: [UInt8]] = [:]
                for row in rows {
                    stored[Key(source: try row.decode("source"), eventID: try row.decode("event_id"))] = try row.decode("content_hash", as: [UInt8].self)
                }
                for index in unresolved {
                    claims[index] = stored[unique[index].key] == unique[index].contentHash ? .duplicate : .conflicting
                }
            }
            return self.claims(from: claims)
        }

        /// One claim per entry; repeats judged against their first occurrence.
        func claims(from distinct: [InboxClaim?]?) -> [InboxClaim] {
            var seen = Set<Key>()
            return entries.map { entry in
                let first = firstIndex[entry.key]!
                if seen.insert(entry.key).inserted { return distinct![first]! }
                return unique[first].contentHash == entry.contentHash ? .duplicate : .conflicting
            }
        }
    }

    /// Gives back the inbox claims of events this transaction refused: a
    /// refused event's id is not used up, so the same event sent again is
    /// judged again and gets its receipt again (written at ``flush()``).
    public mutating func releaseInboxClaim(of entry: InboxEntry) {
        releasedClaims.append(entry)
    }

    private func releasedClaimsStatement() -> PostgresQuery? {
        guard !releasedClaims.isEmpty else { return nil }
        return """
            DELETE FROM inbox i
            USING unnest(\(PostgresArray(releasedClaims.map { Optional($0.source) }))::text[], \(PostgresArray(releasedClaims.map(\.eventID)))::uuid[]) AS k(source, event_id)
            WHERE i.source = k.source AND i.event_id = k.event_id
            """
    }

    // MARK: cases

    /// A case's state as this process last committed or read it, and the
    /// version of its row then (PostgreSQL's `xmin`, which every write of the
    /// row changes, including a link mirrored without a new case version).
    public struct CachedCase: Sendable {
        public var state: CaseState
        public var rowVersion: String
        public init(state: CaseState, rowVersion: String) {
            self.state = state
            self.rowVersion = rowVersion
        }
    }

    /// The cases with these ids, locked until commit, in id order (so that
    /// two transactions never wait for each other in a cycle). Missing ids
    /// are absent. A case saved earlier in this transaction is returned as
    /// saved. A case in `cached` whose row has not changed since is taken
    /// from there, without reading and decoding its stored JSON.
    public mutating func lockCases(_ ids: Set<String>, cached: [String: CachedCase] = [:]) async throws -> [String: CaseState] {
        guard !ids.isEmpty else { return [:] }
        return try readLocked(try await connection.query(Self.lockQuery(ids.sorted(), cached: cached)), ids: ids, cached: cached)
    }

    private static func lockQuery(_ sorted: [String], cached: [String: CachedCase]) -> PostgresQuery {
        """
        SELECT c.id, c.xmin::text AS row_version, CASE WHEN c.xmin::text = k.row_version THEN NULL ELSE c.state::text END AS state
        FROM cases c JOIN unnest(\(PostgresArray(sorted.map(Optional.some)))::text[], \(PostgresArray(sorted.map { cached[$0]?.rowVersion }))::text[])
             AS k(id, row_version) ON k.id = c.id
        ORDER BY c.id FOR UPDATE OF c
        """
    }

    private mutating func readLocked(_ rows: PostgresRows, ids: Set<String>, cached: [String: CachedCase]) throws -> [String: CaseState] {
        var cases: [String: CaseState] = [:]
        for row in rows {
            let id: String = try row.decode("id")
            if let text = try row.decode("state", as: String?.self) {
                cases[id] = try CaseState.decoded(text)
                statesRead += 1
            } else if let known = cached[id] {
                cases[id] = known.state
            }
        }
        for id in ids { if let saved = pendingCases[id] { cases[id] = saved } }
        return cases
    }

    /// The case with this id, locked until commit; `nil` if it does not exist.
    public mutating func lockCase(_ id: String) async throws -> CaseState? {
        try await lockCases([id])[id]
    }

    /// Inserts or updates a case (written at ``flush()``; the last save wins).
    public mutating func saveCase(_ state: CaseState) {
        if pendingCases.updateValue(state, forKey: state.caseID) == nil { pendingCaseOrder.append(state.caseID) }
    }

    /// Deadlines that started, were met or stopped (written at ``flush()``;
    /// the last save of a case's rule wins). A restarted rule, or one whose
    /// due instant moved (resumed after a suspension), replaces the old row
    /// and may warn again. `overdueNoticeAt` marks, by rule, the
    /// deadlines whose overdue notice this transaction queued itself.
    public mutating func saveDeadlines(caseID: String, _ deadlines: [StatutoryDeadline], overdueNoticeAt: [String: Date] = [:]) {
        for deadline in deadlines {
            if deadline.state == .met || deadline.state == .stopped { closedDeadlines.append(deadline.metLate ? StatutoryDeadline.Stage.metLate.rawValue : deadline.state.rawValue) }
            let key = DeadlineKey(caseID: caseID, ruleID: deadline.rule.id)
            let entry = (caseID, deadline, overdueNoticeAt[deadline.rule.id])
            if pendingDeadlines.updateValue(entry, forKey: key) == nil { pendingDeadlineOrder.append(key) }
        }
    }

    // MARK: audit, outbox, rejections

    /// Appends an entry to the audit trail: to the chain of its case (or, with
    /// no case, of its sender), written at ``flush()``. `chainKey` names
    /// another chain (``AuditShards/key(caseID:source:)``): an administrator's
    /// action goes on the chain of the agency it concerns, not the administrator's.
    public mutating func appendAudit(
        eventID: String?, caseID: String?, outcome: AuditEntry.Outcome, type: String, source: String,
        occurredAt: Date, recordedAt: Date, caseVersion: Int64?, body: JSONValue, bodyBytes: [UInt8]? = nil,
        chainKey: String? = nil
    ) {
        let entry = AuditEntry(
            shard: AuditShards.shard(of: chainKey ?? AuditShards.key(caseID: caseID, source: source), count: auditShardCount),
            seq: 0, eventID: eventID, caseID: caseID, outcome: outcome, type: type, source: source,
            occurredAt: AuditEntry.storable(occurredAt), recordedAt: AuditEntry.storable(recordedAt),
            caseVersion: caseVersion, body: body, bodyBytes: bodyBytes)
        pendingAudit.append(entry)
        appended.append(entry)
    }

    /// Queues Kafka records to publish after commit, in this order.
    public mutating func enqueue(_ records: [OutboxRecord]) {
        pendingOutbox.append(contentsOf: records)
    }

    /// Records a refused event for administrators.
    public mutating func recordRejection(_ rejection: RejectionRecord) {
        pendingRejections.append(rejection)
    }

    // MARK: flush

    /// Writes everything collected so far and moves the shards' heads, in
    /// two round trips (libpq pipeline mode): the cases, deadlines and
    /// refusals with the lock of the shards' heads; then, with the hashes and
    /// positions computed from the heads, the audit entries, the outbox
    /// records and the heads themselves.
    ///
    /// The heads are locked in shard order (so that two transactions never
    /// wait on each other in a cycle), last, after every case lock, so they
    /// are held for the shortest time, and only the heads of the shards this
    /// transaction writes: transactions on other shards go on at the same
    /// time. Outbox positions are assigned under the lock, so a shard's
    /// records commit in position order and relays can keep a watermark.
    ///
    /// `committing`: the last pipeline ends with COMMIT (no round trip of its own).
    mutating func flush(committing: Bool = false) async throws {
        let outboxShards = pendingOutbox.map { $0.shard(count: auditShardCount) }
        let touched = Set(pendingAudit.compactMap(\.shard) + outboxShards).sorted()
        var first = PostgresPipeline()
        let casesIndex = try casesStatement().map { first.append($0) }
        if let deadlines = deadlinesStatement() { first.append(deadlines) }
        if let rejections = rejectionsStatement() { first.append(rejections) }
        if let released = releasedClaimsStatement() { first.append(released) }
        releasedClaims.removeAll()
        let headsIndex = touched.isEmpty ? nil : first.append("""
            SELECT shard, seq, hash, outbox_seq FROM audit_shards WHERE shard = ANY(\(PostgresArray(touched.map { Optional(Int64($0)) }))::bigint[])
            ORDER BY shard FOR UPDATE
            """)
        if committing && headsIndex == nil && !first.isEmpty { first.append(.commit) }
        let results = first.isEmpty ? [] : try await connection.pipeline(first.queries)
        if let casesIndex {
            for row in results[casesIndex] {
                let id: String = try row.decode("id")
                if let state = pendingCases[id] { written[id] = CachedCase(state: state, rowVersion: try row.decode("row_version")) }
            }
        }
        pendingCases.removeAll()
        pendingCaseOrder.removeAll()
        pendingDeadlines.removeAll()
        pendingDeadlineOrder.removeAll()
        pendingRejections.removeAll()
        guard let headsIndex else { return }

        var heads: [Int: ShardHead] = [:]
        for row in results[headsIndex] {
            heads[Int(try row.decode("shard", as: Int32.self))] = ShardHead(
                seq: try row.decode("seq"), hash: try row.decode("hash"), outboxSeq: try row.decode("outbox_seq"))
        }
        var second = PostgresPipeline()
        if !pendingOutbox.isEmpty {
            var positions: [Int64] = []
            positions.reserveCapacity(pendingOutbox.count)
            for shard in outboxShards {
                guard heads[shard] != nil else { throw MissingAuditShard(shard: shard) }
                heads[shard]!.outboxSeq += 1
                positions.append(heads[shard]!.outboxSeq)
            }
            let records = pendingOutbox
            second.append("""
                INSERT INTO outbox (shard, shard_seq, topic, key, headers, value)
                SELECT * FROM unnest(\(PostgresArray(elements: outboxShards.map { Int32($0) }))::integer[], \(PostgresArray(elements: positions))::bigint[],
                                     \(PostgresArray(elements: records.map(\.topic)))::text[], \(PostgresArray(elements: records.map(\.key)))::text[],
                                     \(PostgresArray(elements: records.map { PostgresJSON($0.headersJSON.canonicalString) }))::jsonb[],
                                     \(PostgresArray(elements: records.map(\.value)))::bytea[])
                """)
            // Delivered at commit, to every hub process's relay (HubStore.outboxChannel).
            second.append("SELECT pg_notify(\(HubStore.outboxChannel), '')")
            pendingOutbox.removeAll()
        }
        if !pendingAudit.isEmpty {
            var entries = pendingAudit
            var previous: [[UInt8]] = []
            var hashes: [[UInt8]] = []
            for index in entries.indices {
                guard let shard = entries[index].shard, let head = heads[shard] else { throw MissingAuditShard(shard: entries[index].shard ?? -1) }
                entries[index].seq = head.seq + 1
                let hash = AuditChain.hash(previous: head.hash, entry: entries[index])
                previous.append(head.hash)
                hashes.append(hash)
                heads[shard]!.seq = entries[index].seq
                heads[shard]!.hash = hash
            }
            func column(_ value: (AuditEntry) -> (any PostgresEncodable)?) -> PostgresArray { PostgresArray(elements: entries.map(value)) }
            second.append("""
                INSERT INTO case_events (shard, shard_seq, event_id, case_id, outcome, type, source, occurred_at, recorded_at,
                                         case_version, body, hash_format, prev_hash, hash)
                SELECT * FROM unnest(\(column { $0.shard.map(Int32.init) })::integer[], \(column { $0.seq })::bigint[],
                                     \(column { $0.eventID })::text[], \(column { $0.caseID })::text[], \(column { $0.outcome.rawValue })::text[],
                                     \(column { $0.type })::text[], \(column { $0.source })::text[], \(column { $0.occurredAt })::timestamptz[],
                                     \(column { $0.recordedAt })::timestamptz[], \(column { $0.caseVersion })::bigint[],
                                     \(column { PostgresJSON(bytes: $0.bodyBytes) })::jsonb[], \(column { Int32($0.format.rawValue) })::smallint[],
                                     \(PostgresArray(elements: previous))::bytea[], \(PostgresArray(elements: hashes))::bytea[])
                """)
            pendingAudit.removeAll()
        }
        let moved = heads.sorted { $0.key < $1.key }
        second.append("""
            UPDATE audit_shards SET seq = moved.seq, hash = moved.hash, outbox_seq = moved.outbox_seq
            FROM unnest(\(PostgresArray(moved.map { Optional(Int64($0.key)) }))::bigint[],
                        \(PostgresArray(moved.map { Optional($0.value.seq) }))::bigint[],
                        \(PostgresArray(elements: moved.map { $0.value.hash }))::bytea[],
                        \(PostgresArray(moved.map { Optional($0.value.outboxSeq) }))::bigint[]) AS moved(shard, seq, hash, outbox_seq)
            WHERE audit_shards.shard = moved.shard
            """)
        if committing { second.append(.commit) }
        try await connection.pipeline(second.queries)
    }

    /// A shard's head as locked: its chain's last entry and its outbox's last position.
    private struct ShardHead {
        var seq: Int64
        var hash: [UInt8]
        var outboxSeq: Int64
    }

    struct MissingAuditShard: Error, CustomStringConvertible {
        let shard: Int
        var description: String { "audit chain \(shard) has no head: run casehub migrate" }
    }

    /// One multi-row upsert for every case saved.
    private func casesStatement() throws -> PostgresQuery? {
        guard !pendingCaseOrder.isEmpty else { return nil }
        let states = pendingCaseOrder.map { pendingCases[$0]! }
        let encoded = PostgresArray(elements: try states.map { PostgresJSON(try $0.encoded()) })
        func column(_ value: (CaseState) -> (any PostgresEncodable)?) -> PostgresArray {
            PostgresArray(elements: states.map(value))
        }
        let numbers = column { state in
            PostgresJSON(JSONValue.object(Dictionary(uniqueKeysWithValues: state.numbers.map { ($0.key.rawValue, JSONValue.string($0.value)) })).canonicalString)
        }
        return """
            INSERT INTO cases (id, procedure, status, holder, parties, numbers, version, opened_at, updated_at, title, state)
            SELECT id, procedure, status, holder, parties::text[], numbers, version, opened_at, updated_at, title, state
            FROM unnest(\(column { $0.caseID })::text[], \(column { $0.procedure.rawValue })::text[], \(column { $0.status })::text[],
                        \(column { $0.parties[.holder]?.rawValue })::text[],
                        \(column { PostgresArray($0.partyAgencies.map { Optional($0.rawValue) }) })::text[], \(numbers)::jsonb[],
                        \(column { Int64($0.version) })::bigint[], \(column { $0.openedAt })::timestamptz[], \(column { $0.updatedAt })::timestamptz[],
                        \(column { $0.title })::text[], \(encoded)::jsonb[])
                 AS u(id, procedure, status, holder, parties, numbers, version, opened_at, updated_at, title, state)
            ON CONFLICT (id) DO UPDATE SET
                procedure = EXCLUDED.procedure, status = EXCLUDED.status, holder = EXCLUDED.holder,
                parties = EXCLUDED.parties, numbers = EXCLUDED.numbers, version = EXCLUDED.version,
                updated_at = EXCLUDED.updated_at, title = EXCLUDED.title, state = EXCLUDED.state
            RETURNING id, xmin::text AS row_version
            """
    }

    /// One multi-row upsert for every deadline saved.
    private func deadlinesStatement() -> PostgresQuery? {
        guard !pendingDeadlineOrder.isEmpty else { return nil }
        let items = pendingDeadlineOrder.map { pendingDeadlines[$0]! }
        func column(_ value: ((caseID: String, deadline: StatutoryDeadline, overdueNoticeAt: Date?)) -> (any PostgresEncodable)?) -> PostgresArray {
            PostgresArray(elements: items.map(value))
        }
        return """
            INSERT INTO deadlines (case_id, rule_id, obliged_agency, legal_basis, trigger_event_id, trigger_event_type,
                                   started_at, due_at, warn_at, state, closed_at, warning_sent_at, overdue_sent_at)
            SELECT * FROM unnest(
                \(column { $0.caseID })::text[], \(column { $0.deadline.rule.id })::text[], \(column { $0.deadline.obligedAgency.rawValue })::text[],
                \(column { $0.deadline.rule.legalBasis })::text[], \(column { $0.deadline.triggerEventID.description })::text[],
                \(column { $0.deadline.triggerEventType.rawValue })::text[], \(column { $0.deadline.startedAt })::timestamptz[],
                \(column { $0.deadline.dueAt })::timestamptz[], \(column { $0.deadline.warnAt })::timestamptz[],
                \(column { $0.deadline.state.rawValue })::text[], \(column { $0.deadline.closedAt })::timestamptz[],
                \(column { $0.overdueNoticeAt })::timestamptz[], \(column { $0.overdueNoticeAt })::timestamptz[])
            ON CONFLICT (case_id, rule_id) DO UPDATE SET
                obliged_agency = EXCLUDED.obliged_agency, legal_basis = EXCLUDED.legal_basis,
                trigger_event_id = EXCLUDED.trigger_event_id, trigger_event_type = EXCLUDED.trigger_event_type,
                started_at = EXCLUDED.started_at, due_at = EXCLUDED.due_at, warn_at = EXCLUDED.warn_at,
                state = EXCLUDED.state, closed_at = EXCLUDED.closed_at,
                warning_sent_at = CASE WHEN deadlines.trigger_event_id = EXCLUDED.trigger_event_id AND deadlines.due_at = EXCLUDED.due_at
                                       THEN coalesce(deadlines.warning_sent_at, EXCLUDED.warning_sent_at) ELSE EXCLUDED.warning_sent_at END,
                overdue_sent_at = CASE WHEN deadlines.trigger_event_id = EXCLUDED.trigger_event_id AND deadlines.due_at = EXCLUDED.due_at
                                       THEN coalesce(deadlines.overdue_sent_at, EXCLUDED.overdue_sent_at) ELSE EXCLUDED.overdue_sent_at END
            """
    }

    /// One multi-row insert for every refusal recorded.
    private func rejectionsStatement() -> PostgresQuery? {
        guard !pendingRejections.isEmpty else { return nil }
        let items = pendingRejections
        func column(_ value: (RejectionRecord) -> (any PostgresEncodable)?) -> PostgresArray { PostgresArray(elements: items.map(value)) }
        return """
            INSERT INTO rejections (event_id, source, topic, case_id, type, code, reason, violations, headers, value)
            SELECT * FROM unnest(\(column(\.eventID))::text[], \(column(\.source))::text[], \(column(\.topic))::text[],
                                 \(column(\.caseID))::text[], \(column(\.type))::text[], \(column(\.code))::text[], \(column(\.reason))::text[],
                                 \(column { PostgresJSON($0.violations.canonicalString) })::jsonb[],
                                 \(column { PostgresJSON($0.headersJSON.canonicalString) })::jsonb[], \(column(\.value))::bytea[])
            """
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
    /// Who hears of it: the obliged agency, the case's holder, and the
    /// parties in the roles its rule also notifies (as the case state
    /// recorded the rule when the deadline started).
    public var recipients: [String]
}

extension HubTransaction {
    /// Running deadlines with a notice due as of `instant`, locked; rows other
    /// schedulers hold are skipped.
    public func lockDueDeadlines(asOf instant: Date, limit: Int) async throws -> [DueDeadline] {
        let rows = try await connection.query("""
            SELECT d.case_id, d.rule_id, d.obliged_agency, d.legal_basis, d.due_at, d.warn_at,
                   d.warning_sent_at IS NOT NULL AS warning_sent, c.holder, c.procedure,
                   coalesce(c.state->'parties', '{}'::jsonb)::text AS parties,
                   coalesce(c.state #> ARRAY['deadlines', d.rule_id, 'rule', 'alsoNotified'], '[]'::jsonb)::text AS also_notified
            FROM deadlines d JOIN cases c ON c.id = d.case_id
            WHERE d.state = 'running'
              AND ((d.warn_at <= \(instant) AND d.warning_sent_at IS NULL) OR (d.due_at <= \(instant) AND d.overdue_sent_at IS NULL))
            ORDER BY d.due_at
            LIMIT \(limit)
            FOR UPDATE OF d SKIP LOCKED
            """)
        return try rows.map { row in
            let obliged: String = try row.decode("obliged_agency")
            let ruleID: String = try row.decode("rule_id")
            let parties = try JSONValue.parse(Array(try row.decode("parties", as: String.self).utf8)).objectValue ?? [:]
            let alsoNotified = try JSONValue.parse(Array(try row.decode("also_notified", as: String.self).utf8)).arrayValue ?? []
            func agency(_ text: String?) -> AgencyID? { text.flatMap(AgencyID.init(rawValue:)) }
            var recipients = [obliged]
            // As the case state says (DeadlineRule.noticeRecipients): a row of a procedure this build does not know tells only the obliged.
            if let obligedAgency = agency(obliged), let procedure = Procedure(rawValue: try row.decode("procedure", as: String.self)) {
                recipients = DeadlineRule.noticeRecipients(
                    rule: ruleID, obliged: obligedAgency, holder: agency(try row.decode("holder", as: String?.self)),
                    alsoNotified: alsoNotified.map { agency($0.stringValue.flatMap { parties[$0]?.stringValue }) }, procedure: procedure,
                    roles: { party in parties.compactMap { role, holder in holder.stringValue == party.rawValue ? PartyRole(rawValue: role) : nil } }
                ).map(\.rawValue)
            }
            return DueDeadline(caseID: try row.decode("case_id"), ruleID: ruleID,
                               obligedAgency: obliged, legalBasis: try row.decode("legal_basis"),
                               dueAt: try row.decode("due_at"), warnAt: try row.decode("warn_at"),
                               warningSent: try row.decode("warning_sent"), recipients: recipients)
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
