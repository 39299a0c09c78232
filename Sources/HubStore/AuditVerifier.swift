import CaseModel
import Foundation
public import Postgres

/// Checks the hash chains of the audit trail (`case_events`): any changed,
/// deleted, inserted or reordered row breaks its chain at that row. The
/// trail is one chain per shard (``AuditShards``), plus the one chain of rows
/// written before it was sharded; each is checked from its first row to the
/// head recorded for it.
public struct AuditVerifier: Sendable {
    public struct Break: Sendable, Hashable, CustomStringConvertible {
        /// The row's global `seq` (the row found broken, or the first present
        /// after missing ones); 0 when the break is about no one row.
        public var seq: Int64
        public var caseID: String?
        /// The chain (nil: the rows written before sharding) and the position in it.
        public var shard: Int?
        public var position: Int64
        public var problem: String
        public var description: String {
            let chain = shard.map { "chain \($0) #\(position)" } ?? "seq \(position)"
            return "seq \(seq) (\(chain))\(caseID.map { ", case \($0)" } ?? ""): \(problem)"
        }
    }

    public struct Report: Sendable {
        public var checked: Int
        public var breaks: [Break]
        public var isIntact: Bool { breaks.isEmpty }
    }

    let client: PostgresClient
    let pageSize: Int

    public init(client: PostgresClient, pageSize: Int = 5_000) {
        self.client = client
        self.pageSize = pageSize
    }

    /// One chain's expected next position and hash while it is walked.
    private struct Walk {
        var shard: Int?
        var expected: Int64 = 1
        var previousHash = AuditChain.genesis
    }

    /// Verifies every chain in order. `progress` is told how many rows of
    /// the total have been checked.
    public func verifyAll(maxBreaks: Int = 50, progress: (Int, Int) -> Void = { _, _ in }) async throws -> Report {
        let total = Int(try await client.query("SELECT count(*) AS n FROM case_events")[0].decode("n", as: Int64.self))
        var breaks: [Break] = []
        var checked = 0

        // The rows of before sharding: one chain in seq order, under audit_head.
        let legacyHead = try await client.query("SELECT seq, hash FROM audit_head")[0]
        var walk = Walk(shard: nil)
        var after: Int64 = 0
        while breaks.count < maxBreaks {
            let rows = try await client.query("\(unsafeSQL: Self.select) WHERE shard IS NULL AND seq > \(after) ORDER BY seq LIMIT \(pageSize)")
            if rows.isEmpty { break }
            for row in rows {
                let (entry, prev, hash, seq) = try Self.entry(from: row)
                after = seq
                checked += 1
                check(entry, seq: seq, prev: prev, hash: hash, walk: &walk, breaks: &breaks)
            }
            progress(checked, total)
        }
        checkEnd(of: walk, head: (try legacyHead.decode("seq"), try legacyHead.decode("hash")), breaks: &breaks)

        // The shards, each from its first row to its head.
        var heads: [Int: (seq: Int64, hash: [UInt8])] = [:]
        for row in try await client.query("SELECT shard, seq, hash FROM audit_shards ORDER BY shard") {
            heads[Int(try row.decode("shard", as: Int32.self))] = (try row.decode("seq"), try row.decode("hash"))
        }
        var current: Walk?
        var afterShard: Int64 = -1
        var afterPosition: Int64 = 0
        while breaks.count < maxBreaks {
            let rows = try await client.query("""
                \(unsafeSQL: Self.select) WHERE shard IS NOT NULL AND (shard, shard_seq) > (\(afterShard), \(afterPosition))
                ORDER BY shard, shard_seq LIMIT \(pageSize)
                """)
            if rows.isEmpty { break }
            for row in rows {
                let (entry, prev, hash, seq) = try Self.entry(from: row)
                if current?.shard != entry.shard {
                    if let finished = current { checkEnd(of: finished, head: heads.removeValue(forKey: finished.shard!), breaks: &breaks) }
                    current = Walk(shard: entry.shard)
                }
                afterShard = Int64(entry.shard!)
                afterPosition = entry.seq
                checked += 1
                check(entry, seq: seq, prev: prev, hash: hash, walk: &current!, breaks: &breaks)
            }
            progress(checked, total)
        }
        if let finished = current { checkEnd(of: finished, head: heads.removeValue(forKey: finished.shard!), breaks: &breaks) }
        // Chains whose head moved but that have no rows left.
        for (shard, head) in heads.sorted(by: { $0.key < $1.key }) where head.seq > 0 {
            checkEnd(of: Walk(shard: shard), head: head, breaks: &breaks)
        }
        return Report(checked: checked, breaks: Array(breaks.prefix(maxBreaks)))
    }

    private func check(_ entry: AuditEntry, seq: Int64, prev: [UInt8], hash: [UInt8], walk: inout Walk, breaks: inout [Break]) {
        if entry.seq != walk.expected {
            breaks.append(Break(seq: seq, caseID: nil, shard: entry.shard, position: walk.expected,
                                problem: entry.seq > walk.expected
                                    ? "rows \(walk.expected)…\(entry.seq - 1) of the chain are missing (deleted)"
                                    : "out of order in its chain"))
        }
        if prev != walk.previousHash {
            breaks.append(Break(seq: seq, caseID: entry.caseID, shard: entry.shard, position: entry.seq,
                                problem: "does not follow the row before it (a row was deleted, inserted or reordered here)"))
        }
        if AuditChain.hash(previous: prev, entry: entry) != hash {
            breaks.append(Break(seq: seq, caseID: entry.caseID, shard: entry.shard, position: entry.seq, problem: "content changed after it was recorded"))
        }
        walk.previousHash = hash
        walk.expected = entry.seq + 1
    }

    /// The chain must end where its head says.
    private func checkEnd(of walk: Walk, head: (seq: Int64, hash: [UInt8])?, breaks: inout [Break]) {
        guard let head else { return }
        if walk.expected - 1 != head.seq || walk.previousHash != head.hash {
            breaks.append(Break(seq: 0, caseID: nil, shard: walk.shard, position: walk.expected - 1,
                                problem: "the chain ends at #\(walk.expected - 1) but its head records #\(head.seq): rows at the end were deleted or added"))
        }
    }

    /// Verifies one case's rows: each row's own hash, its link to the row
    /// before it in its chain (of whatever case), and that the case's version
    /// matches the number of its accepted events (so deleting them is seen too).
    public func verifyCase(_ caseID: String) async throws -> Report {
        // Each row with the hash of the row before it in its chain, in one query.
        let rows = try await client.query("""
            SELECT e.seq, e.shard, e.shard_seq, e.event_id, e.case_id, e.outcome, e.type, e.source, e.occurred_at, e.recorded_at,
                   e.case_version, e.body, e.prev_hash, e.hash, coalesce(sharded.hash, unsharded.hash) AS before_hash
            FROM case_events e
            LEFT JOIN case_events sharded ON e.shard IS NOT NULL AND sharded.shard = e.shard AND sharded.shard_seq = e.shard_seq - 1
            LEFT JOIN case_events unsharded ON e.shard IS NULL AND unsharded.shard IS NULL AND unsharded.seq = e.seq - 1
            WHERE e.case_id = \(caseID) ORDER BY e.seq
            """)
        var breaks: [Break] = []
        var accepted = 0
        for row in rows {
            let (entry, prev, hash, seq) = try Self.entry(from: row)
            if entry.outcome == .accepted { accepted += 1 }
            if AuditChain.hash(previous: prev, entry: entry) != hash {
                breaks.append(Break(seq: seq, caseID: caseID, shard: entry.shard, position: entry.seq, problem: "content changed after it was recorded"))
            }
            let expectedPrev = entry.seq == 1 ? AuditChain.genesis : try row.decode("before_hash", as: [UInt8]?.self)
            if expectedPrev != prev {
                breaks.append(Break(seq: seq, caseID: caseID, shard: entry.shard, position: entry.seq,
                                    problem: "does not follow the row before it (a row was deleted, inserted or reordered here)"))
            }
        }
        let version = try await client.query("SELECT version FROM cases WHERE id = \(caseID)")
        if let version = try version.first?.decode("version", as: Int.self), version != accepted {
            breaks.append(Break(seq: 0, caseID: caseID, shard: nil, position: 0,
                                problem: "the case is at version \(version) but the trail holds \(accepted) accepted events"))
        }
        return Report(checked: rows.count, breaks: breaks)
    }

    static let select = """
        SELECT seq, shard, shard_seq, event_id, case_id, outcome, type, source, occurred_at, recorded_at, case_version, body, prev_hash, hash
        FROM case_events
        """

    /// The entry as hashed (its chain position as `seq`), its links, and its global seq.
    static func entry(from row: PostgresRow) throws -> (AuditEntry, [UInt8], [UInt8], Int64) {
        let outcomeText: String = try row.decode("outcome")
        let seq: Int64 = try row.decode("seq")
        let shard = try row.decode("shard", as: Int32?.self).map(Int.init)
        let entry = AuditEntry(
            shard: shard, seq: shard == nil ? seq : try row.decode("shard_seq"),
            eventID: try row.decode("event_id", as: String?.self),
            caseID: try row.decode("case_id", as: String?.self),
            outcome: AuditEntry.Outcome(rawValue: outcomeText) ?? .admin,
            type: try row.decode("type"), source: try row.decode("source"),
            occurredAt: try row.decode("occurred_at"), recordedAt: try row.decode("recorded_at"),
            caseVersion: try row.decode("case_version", as: Int64?.self),
            body: try JSONValue.parse(Array(try row.decode("body", as: String.self).utf8)))
        return (entry, try row.decode("prev_hash"), try row.decode("hash"), seq)
    }
}
