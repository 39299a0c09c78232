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

    /// What a verification found. A tampered database can hold any number of
    /// breaks: all are counted, by chain, and the first ones are kept to list.
    public struct Report: Sendable {
        public var checked: Int
        /// The breaks found, in the order the chains were walked: all of them,
        /// or the first `listing` of ``AuditVerifier/verifyAll(listing:progress:)``.
        public var breaks: [Break]
        /// How many breaks were found in all, listed or not.
        public var breakCount: Int
        /// How many chains were walked, and each one found broken, in walking
        /// order (``AuditVerifier/verifyAll(listing:progress:)`` only: a case's
        /// rows are all in one chain).
        public var chainsChecked: Int
        public var brokenChains: [BrokenChain]
        public var isIntact: Bool { breakCount == 0 }
        /// Breaks found but left out of ``breaks``.
        public var unlisted: Int { breakCount - breaks.count }

        public init(checked: Int, breaks: [Break], breakCount: Int? = nil, chainsChecked: Int = 0, brokenChains: [BrokenChain] = []) {
            self.checked = checked
            self.breaks = breaks
            self.breakCount = breakCount ?? breaks.count
            self.chainsChecked = chainsChecked
            self.brokenChains = brokenChains
        }
    }

    /// A chain with breaks: how many, and between which positions.
    public struct BrokenChain: Sendable, Hashable, CustomStringConvertible {
        /// nil: the rows written before sharding, whose positions are their `seq`.
        public var shard: Int?
        public var breaks: Int
        public var firstPosition: Int64
        public var lastPosition: Int64
        public var description: String {
            let (chain, mark) = shard.map { ("chain \($0)", "#") } ?? ("rows before sharding", "seq ")
            let span = firstPosition == lastPosition ? "\(mark)\(firstPosition)" : "\(mark)\(firstPosition)…\(mark)\(lastPosition)"
            return "\(chain): \(breaks) break(s) at \(span)"
        }
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

    /// The breaks found so far: every one counted, by chain; the first
    /// `listing` kept (memory stays bounded however much was tampered with).
    private struct Findings {
        let listing: Int
        var listed: [Break] = []
        var count = 0
        var chains: [BrokenChain] = []
        var chainIndex: [Int?: Int] = [:]

        init(listing: Int) { self.listing = max(0, listing) }

        mutating func append(_ found: Break) {
            count += 1
            if listed.count < listing { listed.append(found) }
            if let index = chainIndex[found.shard] {
                chains[index].breaks += 1
                chains[index].firstPosition = min(chains[index].firstPosition, found.position)
                chains[index].lastPosition = max(chains[index].lastPosition, found.position)
            } else {
                chainIndex[found.shard] = chains.count
                chains.append(BrokenChain(shard: found.shard, breaks: 1, firstPosition: found.position, lastPosition: found.position))
            }
        }
    }

    /// Verifies every chain in order, each to its end whatever is found on
    /// the way: all breaks are counted, by chain, and the first `listing` of
    /// them are listed. `progress` is told how many rows of the total have
    /// been checked.
    public func verifyAll(listing: Int = 50, progress: (Int, Int) -> Void = { _, _ in }) async throws -> Report {
        let total = Int(try await client.query("SELECT count(*) AS n FROM case_events")[0].decode("n", as: Int64.self))
        var findings = Findings(listing: listing)
        var checked = 0
        var chainsChecked = 0

        // The rows of before sharding: one chain in seq order, under audit_head.
        let legacyHead = try await client.query("SELECT seq, hash FROM audit_head")[0]
        let legacyHeadSeq: Int64 = try legacyHead.decode("seq")
        var walk = Walk(shard: nil)
        var after: Int64 = 0
        while true {
            let rows = try await client.query("\(unsafeSQL: Self.select) WHERE shard IS NULL AND seq > \(after) ORDER BY seq LIMIT \(pageSize)")
            if rows.isEmpty { break }
            for row in rows {
                let (entry, prev, hash, seq) = try Self.entry(from: row)
                after = seq
                checked += 1
                check(entry, seq: seq, prev: prev, hash: hash, walk: &walk, findings: &findings)
            }
            progress(checked, total)
        }
        if after > 0 || legacyHeadSeq > 0 { chainsChecked += 1 }
        checkEnd(of: walk, head: (legacyHeadSeq, try legacyHead.decode("hash")), findings: &findings)

        // The shards, each from its first row to its head.
        var heads: [Int: (seq: Int64, hash: [UInt8])] = [:]
        for row in try await client.query("SELECT shard, seq, hash FROM audit_shards ORDER BY shard") {
            heads[Int(try row.decode("shard", as: Int32.self))] = (try row.decode("seq"), try row.decode("hash"))
        }
        chainsChecked += heads.count
        var current: Walk?
        var afterShard: Int64 = -1
        var afterPosition: Int64 = 0
        while true {
            let rows = try await client.query("""
                \(unsafeSQL: Self.select) WHERE shard IS NOT NULL AND (shard, shard_seq) > (\(afterShard), \(afterPosition))
                ORDER BY shard, shard_seq LIMIT \(pageSize)
                """)
            if rows.isEmpty { break }
            for row in rows {
                let (entry, prev, hash, seq) = try Self.entry(from: row)
                if current?.shard != entry.shard {
                    if let finished = current { checkEnd(of: finished, head: heads.removeValue(forKey: finished.shard!), findings: &findings) }
                    current = Walk(shard: entry.shard)
                }
                afterShard = Int64(entry.shard!)
                afterPosition = entry.seq
                checked += 1
                check(entry, seq: seq, prev: prev, hash: hash, walk: &current!, findings: &findings)
            }
            progress(checked, total)
        }
        if let finished = current { checkEnd(of: finished, head: heads.removeValue(forKey: finished.shard!), findings: &findings) }
        // Chains whose head moved but that have no rows left.
        for (shard, head) in heads.sorted(by: { $0.key < $1.key }) where head.seq > 0 {
            checkEnd(of: Walk(shard: shard), head: head, findings: &findings)
        }
        return Report(checked: checked, breaks: findings.listed, breakCount: findings.count,
                      chainsChecked: chainsChecked, brokenChains: findings.chains)
    }

    private func check(_ entry: AuditEntry, seq: Int64, prev: [UInt8], hash: [UInt8], walk: inout Walk, findings: inout Findings) {
        if entry.seq != walk.expected {
            findings.append(Break(seq: seq, caseID: nil, shard: entry.shard, position: walk.expected,
                                  problem: entry.seq > walk.expected
                                      ? "rows \(walk.expected)…\(entry.seq - 1) of the chain are missing (deleted)"
                                      : "out of order in its chain"))
        }
        if prev != walk.previousHash {
            findings.append(Break(seq: seq, caseID: entry.caseID, shard: entry.shard, position: entry.seq,
                                  problem: "does not follow the row before it (a row was deleted, inserted or reordered here)"))
        }
        if !Self.hashMatches(entry, previous: prev, hash: hash) {
            findings.append(Break(seq: seq, caseID: entry.caseID, shard: entry.shard, position: entry.seq,
                                  problem: "content changed after it was recorded"))
        }
        walk.previousHash = hash
        walk.expected = entry.seq + 1
    }

    /// The chain must end where its head says.
    private func checkEnd(of walk: Walk, head: (seq: Int64, hash: [UInt8])?, findings: inout Findings) {
        guard let head else { return }
        if walk.expected - 1 != head.seq || walk.previousHash != head.hash {
            findings.append(Break(seq: 0, caseID: nil, shard: walk.shard, position: walk.expected - 1,
                                  problem: "the chain ends at #\(walk.expected - 1) but its head records #\(head.seq): rows at the end were deleted or added"))
        }
    }

    /// Verifies one case's rows: each row's own hash, its link to the row
    /// before it in its chain (of whatever case), and that the case's version
    /// matches the number of its accepted events (so deleting them is seen too).
    /// Every break is listed.
    public func verifyCase(_ caseID: String) async throws -> Report {
        // Each row with the hash of the row before it in its chain, in one query.
        let rows = try await client.query("""
            SELECT e.seq, e.shard, e.shard_seq, e.event_id, e.case_id, e.outcome, e.type, e.source, e.occurred_at, e.recorded_at,
                   e.case_version, e.body, e.hash_format, e.prev_hash, e.hash, coalesce(sharded.hash, unsharded.hash) AS before_hash
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
            if !Self.hashMatches(entry, previous: prev, hash: hash) {
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
        SELECT seq, shard, shard_seq, event_id, case_id, outcome, type, source, occurred_at, recorded_at, case_version, body,
               hash_format, prev_hash, hash
        FROM case_events
        """

    /// The entry as hashed (its chain position as `seq`), its links, and its global seq.
    ///
    /// jsonb gives the body back with every value kept but not its text
    /// (numbers respelled, keys reordered, spaces added): it is read and made
    /// canonical again in the row's own format, which gives the bytes hashed
    /// when the row was written.
    static func entry(from row: PostgresRow) throws -> (AuditEntry, [UInt8], [UInt8], Int64) {
        let outcomeText: String = try row.decode("outcome")
        let seq: Int64 = try row.decode("seq")
        let shard = try row.decode("shard", as: Int32?.self).map(Int.init)
        let formatNumber = try row.decode("hash_format", as: Int.self)
        guard let format = JSONValue.CanonicalFormat(rawValue: formatNumber) else {
            throw UnknownHashFormat(seq: seq, format: formatNumber)
        }
        let entry = AuditEntry(
            shard: shard, seq: shard == nil ? seq : try row.decode("shard_seq"),
            eventID: try row.decode("event_id", as: String?.self),
            caseID: try row.decode("case_id", as: String?.self),
            outcome: AuditEntry.Outcome(rawValue: outcomeText) ?? .admin,
            type: try row.decode("type"), source: try row.decode("source"),
            occurredAt: try row.decode("occurred_at"), recordedAt: try row.decode("recorded_at"),
            caseVersion: try row.decode("case_version", as: Int64?.self),
            body: try JSONValue.parse(Array(try row.decode("body", as: String.self).utf8), format: format), format: format)
        return (entry, try row.decode("prev_hash"), try row.decode("hash"), seq)
    }

    /// Whether a row's hash is its entry's.
    ///
    /// One kind of format-1 row cannot be made again as read: a whole double
    /// of 1e16 or more in its body was hashed in exponent form (`1e+16`), and
    /// jsonb gives it back in digits (`10000000000000000`), which read as an
    /// integer. Such a row is tried once more with those integers as the
    /// doubles they were, which is all it takes to tell it from tampering.
    static func hashMatches(_ entry: AuditEntry, previous: [UInt8], hash: [UInt8]) -> Bool {
        if AuditChain.hash(previous: previous, entry: entry) == hash { return true }
        guard entry.format == .legacy, let doubles = format1Doubles(in: entry.body) else { return false }
        var again = entry
        again.body = doubles
        again.bodyBytes = doubles.canonicalBytes(in: .legacy)
        return AuditChain.hash(previous: previous, entry: again) == hash
    }

    /// The value with each integer that format 1 wrote as a double in
    /// exponent form made that double again; nil when it holds none. Only an
    /// integer whose digits are exactly a double's shortest digits qualifies
    /// (what jsonb makes of `1e+16`), so no other number can pass for one.
    static func format1Doubles(in value: JSONValue) -> JSONValue? {
        switch value {
        case .integer(let integer) where integer.magnitude >= 10_000_000_000_000_000:
            let double = Double(integer)
            return JSONValue.number(double).canonicalString == String(integer) ? .number(double) : nil
        case .array(let items):
            let found = items.map { format1Doubles(in: $0) }
            guard found.contains(where: { $0 != nil }) else { return nil }
            return .array(zip(items, found).map { $1 ?? $0 })
        case .object(let members):
            let found = members.mapValues { format1Doubles(in: $0) }
            guard found.values.contains(where: { $0 != nil }) else { return nil }
            return .object(members.merging(found.compactMapValues { $0 }) { $1 })
        default:
            return nil
        }
    }

    /// A row whose `hash_format` this casehub does not know: written by a
    /// newer casehub, or the column was changed. Its bytes cannot be made
    /// again, so verification stops there and says so.
    public struct UnknownHashFormat: Error, CustomStringConvertible {
        public var seq: Int64
        public var format: Int
        public var description: String {
            "audit row seq \(seq) says it is hashed in canonical format \(format), which this casehub does not know "
                + "(written by a newer casehub, or the row was tampered with)"
        }
    }
}
