import CaseModel
public import Foundation
import Postgres

/// The outbox as relays publish it. The outbox has the audit chains' shards;
/// a shard's records have consecutive positions (`shard_seq`), committed in
/// order. Each relay holds some shards under a lease and, per shard, keeps a
/// watermark: every record at or below it is published or parked. A round is
/// one transaction that locks the relay's shards, so two relays never publish
/// one shard at once, even while a lease changes hands.
///
/// Leases move by fair share: every relay that is alive announces itself, and
/// each holds about `shards / relays`, giving up extras and taking shards
/// that are free or whose holder stopped renewing (a dead hub's shards move
/// when its leases run out).
extension HubStore {
    /// Where a record sits in the outbox: its shard and its position there.
    public struct OutboxPosition: Sendable, Hashable, Comparable, CustomStringConvertible {
        public var shard: Int
        public var seq: Int64

        public init(shard: Int, seq: Int64) {
            self.shard = shard
            self.seq = seq
        }

        /// `shard/seq`, as administrators name a parked record.
        public init?(_ text: String) {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, let shard = Int(parts[0]), shard >= 0, let seq = Int64(parts[1]), seq > 0 else { return nil }
            self.init(shard: shard, seq: seq)
        }

        public var description: String { "\(shard)/\(seq)" }

        public static func < (lhs: Self, rhs: Self) -> Bool {
            (lhs.shard, lhs.seq) < (rhs.shard, rhs.seq)
        }
    }

    /// A record read back from the outbox.
    public struct PendingOutboxRecord: Sendable {
        public var position: OutboxPosition
        public var record: OutboxRecord
    }

    /// What became of one record handed to a relay's publish.
    public enum PublishOutcome: Sendable, Equatable {
        case published
        /// Not published. A permanent failure (after `attempts` tries) parks
        /// the record; any other leaves it for the next round.
        case failed(reason: String, permanent: Bool, attempts: Int)
    }

    /// What one round did.
    public struct RelayRoundSummary: Sendable, Equatable {
        /// Shards this relay held in the round.
        public var shards = 0
        public var published = 0
        /// Records parked: failed ones and those that wait behind them.
        public var parked = 0
        /// Whether some shard had more records than the round read.
        public var more = false
    }

    // MARK: leases

    /// Announces `holder` as alive and moves its leases toward its fair share.
    /// Returns how many shards it holds now.
    @discardableResult
    public func rebalanceOutboxShards(holder: String, lease: Duration) async throws -> Int {
        let leaseInterval = Self.interval(lease)
        return try await client.withTransaction { connection in
            try await connection.execute("""
                INSERT INTO outbox_relays (holder, alive_until) VALUES (\(holder), now() + \(leaseInterval)::interval)
                ON CONFLICT (holder) DO UPDATE SET alive_until = EXCLUDED.alive_until
                """)
            try await connection.execute("DELETE FROM outbox_relays WHERE alive_until < now() - interval '1 hour'")
            let relays = try await connection.query("SELECT count(*) AS n FROM outbox_relays WHERE alive_until > now()")[0].decode("n", as: Int64.self)
            let rows = try await connection.query("""
                SELECT shard, holder = \(holder) AND lease_until > now() AS mine,
                       holder IS NULL OR lease_until IS NULL OR lease_until <= now() AS free
                FROM outbox_shards ORDER BY shard
                """)
            var mine: [Int] = []
            var free: [Int] = []
            for row in rows {
                let shard = Int(try row.decode("shard", as: Int32.self))
                if try row.decode("mine", as: Bool?.self) == true { mine.append(shard) }
                else if try row.decode("free", as: Bool?.self) == true { free.append(shard) }
            }
            let fairShare = (rows.count + Int(max(relays, 1)) - 1) / Int(max(relays, 1))
            if mine.count > fairShare {
                // Give up the extras: another relay takes them at its next rebalance.
                let extras = Array(mine.suffix(mine.count - fairShare))
                try await connection.execute("""
                    UPDATE outbox_shards SET holder = NULL, lease_until = NULL
                    WHERE shard = ANY(\(Self.int32Array(extras))::integer[]) AND holder = \(holder)
                    """)
                return fairShare
            }
            guard mine.count < fairShare, !free.isEmpty else { return mine.count }
            // Free shards in an order of this holder's own, so that relays
            // starting together do not all reach for the same ones.
            let wanted = Array(free.sorted { Self.spread($0, holder) < Self.spread($1, holder) }.prefix(fairShare - mine.count))
            let claimed = try await connection.query("""
                WITH free AS (
                    SELECT shard FROM outbox_shards
                    WHERE shard = ANY(\(Self.int32Array(wanted))::integer[]) AND (holder IS NULL OR lease_until IS NULL OR lease_until <= now())
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE outbox_shards SET holder = \(holder), lease_until = now() + \(leaseInterval)::interval
                FROM free WHERE outbox_shards.shard = free.shard RETURNING outbox_shards.shard
                """)
            return mine.count + claimed.count
        }
    }

    /// Gives up every lease of `holder` and its presence (a relay stopping).
    public func releaseOutboxShards(holder: String) async throws {
        try await client.withTransaction { connection in
            try await connection.execute("UPDATE outbox_shards SET holder = NULL, lease_until = NULL WHERE holder = \(holder)")
            try await connection.execute("DELETE FROM outbox_relays WHERE holder = \(holder)")
        }
    }

    /// The shards each holder leases now (for administrators and tests).
    public func outboxShardHolders() async throws -> [Int: String] {
        var holders: [Int: String] = [:]
        for row in try await client.query("SELECT shard, holder FROM outbox_shards WHERE holder IS NOT NULL AND lease_until > now()") {
            holders[Int(try row.decode("shard", as: Int32.self))] = try row.decode("holder")
        }
        return holders
    }

    // MARK: rounds

    /// One round of `holder`: locks the shards it leases (renewing the
    /// leases), reads up to `limit` records past their watermarks, and hands
    /// `publish` the ones to send: first the parked records an administrator
    /// released, then the new ones. New records of a key that has a parked
    /// record are not sent but parked behind it. Then, per shard in order:
    /// published records are passed, a permanent failure parks its record
    /// (and the key's later unpublished records behind it), and any other
    /// failure stops the shard there for the next round. The watermarks move
    /// in the same transaction. Returns nil when `holder` leases no shard.
    ///
    /// Two round trips besides the publishing: the leases, the parked records
    /// and the pending ones are read in one pipeline (BEGIN included), the
    /// bookkeeping is written in another that ends with COMMIT. The commit
    /// does not wait for its WAL flush (`synchronous_commit` off for this
    /// transaction only): were it lost in a crash, the records would only be
    /// published again, and receivers drop a repeated event id.
    public func relayRound(
        holder: String, lease: Duration, limit: Int,
        publish: ([PendingOutboxRecord]) async throws -> [PublishOutcome]
    ) async throws -> RelayRoundSummary? {
        try await client.withTransaction { connection in
            let reads = try await connection.pipeline([
                "SET LOCAL synchronous_commit TO off",
                """
                WITH mine AS (
                    SELECT shard FROM outbox_shards WHERE holder = \(holder) AND lease_until > now() FOR UPDATE SKIP LOCKED
                )
                UPDATE outbox_shards SET lease_until = now() + \(Self.interval(lease))::interval
                FROM mine WHERE outbox_shards.shard = mine.shard
                RETURNING outbox_shards.shard, outbox_shards.sent_seq
                """,
                // The statements below see the leases just renewed; a shard the
                // update skipped (locked by a rebalance) is dropped from their rows.
                """
                SELECT shard, shard_seq, ordering_key, release_requested_at IS NOT NULL AS released FROM outbox_parked
                WHERE resolved_at IS NULL AND shard IN (SELECT shard FROM outbox_shards WHERE holder = \(holder) AND lease_until > now())
                ORDER BY shard, shard_seq
                """,
                // Up to `limit` records, shared among the shards held.
                """
                WITH budget AS (
                    SELECT greatest(16, \(Int64(limit)) / greatest(1, count(*))) AS per_shard FROM outbox_shards WHERE holder = \(holder) AND lease_until > now()
                )
                SELECT o.shard, o.shard_seq, o.topic, o.key, o.headers::text AS headers, o.value, budget.per_shard
                FROM budget, outbox_shards h CROSS JOIN LATERAL (
                    SELECT * FROM outbox WHERE outbox.shard = h.shard AND outbox.shard_seq > h.sent_seq ORDER BY outbox.shard_seq
                    LIMIT (SELECT per_shard FROM budget)
                ) AS o
                WHERE h.holder = \(holder) AND h.lease_until > now()
                ORDER BY o.shard, o.shard_seq
                """,
            ])
            let held = reads[1]
            guard !held.isEmpty else { return nil }
            var watermarks: [Int: Int64] = [:]
            for row in held { watermarks[Int(try row.decode("shard", as: Int32.self))] = try row.decode("sent_seq") }
            let shards = watermarks.keys.sorted()
            var summary = RelayRoundSummary(shards: shards.count)

            let parked = try reads[2].map(Self.openParked).filter { watermarks[$0.position.shard] != nil }
            let released = try await releasedGroups(parked, on: connection)
            let rows = reads[3]
            let perShard = try rows.first?.decode("per_shard", as: Int64.self) ?? Int64(max(16, limit / shards.count))
            let pending = try rows.map(Self.pendingRecord).filter { watermarks[$0.position.shard] != nil }
            var countPerShard: [Int: Int] = [:]
            for item in pending { countPerShard[item.position.shard, default: 0] += 1 }
            summary.more = countPerShard.values.contains { Int64($0) >= perShard }

            let parkedKeys = Set(parked.map { ParkedKey(shard: $0.position.shard, key: $0.orderingKey) })
            let toSend = pending.filter { !parkedKeys.contains(ParkedKey(shard: $0.position.shard, key: $0.record.orderingKey)) }
            let releasedRecords = released.flatMap { $0 }
            let outcomes = try await publish(releasedRecords + toSend)
            var outcome: [OutboxPosition: PublishOutcome] = [:]
            for (item, result) in zip(releasedRecords + toSend, outcomes) { outcome[item.position] = result }

            var changes = ParkingChanges()
            for group in released {
                summary.published += changes.settleReleased(group, outcome: outcome)
            }
            // New records, shard by shard in position order.
            var index = 0
            while index < pending.count {
                let shard = pending[index].position.shard
                var blockedKeys = Set(parked.filter { $0.position.shard == shard }.map(\.orderingKey))
                var heads: [String: OutboxPosition] = [:]
                for entry in parked where entry.position.shard == shard && heads[entry.orderingKey] == nil { heads[entry.orderingKey] = entry.position }
                var watermark = watermarks[shard]!
                var stopped = false
                while index < pending.count, pending[index].position.shard == shard {
                    let item = pending[index]
                    index += 1
                    if stopped { continue }
                    let key = item.record.orderingKey
                    let result = outcome[item.position]
                    if case .published = result {
                        summary.published += 1
                    } else if blockedKeys.contains(key) {
                        changes.hold(item, behind: heads[key]!, released: released.contains { $0.first?.record.orderingKey == key && $0.first?.position.shard == shard })
                    } else if case .failed(let reason, true, let attempts) = result {
                        changes.park(item, reason: reason, attempts: attempts)
                        blockedKeys.insert(key)
                        heads[key] = item.position
                    } else {
                        // Broker away or the like: this shard goes on from here next round.
                        stopped = true
                        continue
                    }
                    watermark = item.position.seq
                }
                watermarks[shard] = watermark
            }
            summary.parked = changes.parkedCount
            try await connection.pipeline(changes.statements + [
                """
                UPDATE outbox_shards SET sent_seq = moved.sent
                FROM unnest(\(Self.int32Array(shards))::integer[], \(PostgresArray(shards.map { Optional(watermarks[$0]!) }))::bigint[]) AS moved(shard, sent)
                WHERE outbox_shards.shard = moved.shard AND outbox_shards.sent_seq < moved.sent
                """,
                .commit,
            ])
            return summary
        }
    }

    /// Records not yet published (past their shard's watermark), and when the
    /// oldest of them was written.
    public func outboxBacklog() async throws -> (count: Int, oldest: Date?) {
        let rows = try await client.query("SELECT \(unsafeSQL: OutboxSQL.backlog) AS n, \(unsafeSQL: OutboxSQL.oldestUnsent) AS oldest")
        return (Int(try rows[0].decode("n", as: Int64.self)), try rows[0].decode("oldest", as: Date?.self))
    }

    // MARK: parked records, as the relay sees them

    struct OpenParked {
        var position: OutboxPosition
        var orderingKey: String
        var released: Bool
    }

    private struct ParkedKey: Hashable {
        var shard: Int
        var key: String
    }

    private static func openParked(_ row: PostgresRow) throws -> OpenParked {
        OpenParked(position: OutboxPosition(shard: Int(try row.decode("shard", as: Int32.self)), seq: try row.decode("shard_seq")),
                   orderingKey: try row.decode("ordering_key"), released: try row.decode("released"))
    }

    /// The parked keys whose first record an administrator released: all
    /// their open records, in order, read back from the outbox.
    private func releasedGroups(_ parked: [OpenParked], on connection: PostgresConnection) async throws -> [[PendingOutboxRecord]] {
        var groups: [ParkedKey: [OutboxPosition]] = [:]
        var order: [ParkedKey] = []
        for entry in parked {
            let key = ParkedKey(shard: entry.position.shard, key: entry.orderingKey)
            if groups[key] == nil {
                guard entry.released else { groups[key] = []; continue }
                order.append(key)
                groups[key] = [entry.position]
            } else if !(groups[key]!.isEmpty) {
                groups[key]!.append(entry.position)
            }
        }
        let positions = order.flatMap { groups[$0]! }
        guard !positions.isEmpty else { return [] }
        let rows = try await connection.query("""
            SELECT o.shard, o.shard_seq, o.topic, o.key, o.headers::text AS headers, o.value
            FROM unnest(\(Self.int32Array(positions.map(\.shard)))::integer[], \(PostgresArray(positions.map { Optional($0.seq) }))::bigint[]) AS p(shard, seq)
            JOIN outbox o ON o.shard = p.shard AND o.shard_seq = p.seq
            """)
        var records: [OutboxPosition: PendingOutboxRecord] = [:]
        for row in rows {
            let record = try Self.pendingRecord(row)
            records[record.position] = record
        }
        return order.map { key in groups[key]!.compactMap { records[$0] } }
    }

    private static func pendingRecord(_ row: PostgresRow) throws -> PendingOutboxRecord {
        PendingOutboxRecord(
            position: OutboxPosition(shard: Int(try row.decode("shard", as: Int32.self)), seq: try row.decode("shard_seq")),
            record: OutboxRecord(
                topic: try row.decode("topic"),
                key: try row.decode("key", as: String?.self),
                headers: try headers(fromJSON: try row.decode("headers", as: String.self)),
                value: try row.decode("value")))
    }

    static func interval(_ duration: Duration) -> String {
        "\(duration.components.seconds * 1_000 + duration.components.attoseconds / 1_000_000_000_000_000) milliseconds"
    }

    static func int32Array(_ values: [Int]) -> PostgresArray {
        PostgresArray(elements: values.map { Int32($0) })
    }

    /// A stable pseudo-random rank of a shard for one holder.
    private static func spread(_ shard: Int, _ holder: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in Array(holder.utf8) + Array(String(shard).utf8) {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        return hash
    }
}

/// Scalar subqueries over the outbox shared by the relay's and the
/// administrators' views.
enum OutboxSQL {
    /// Records past their shard's watermark.
    static let backlog = """
        (SELECT coalesce(sum(h.outbox_seq - s.sent_seq), 0) FROM audit_shards h JOIN outbox_shards s USING (shard))::bigint
        """
    /// When the oldest record past its shard's watermark was written.
    static let oldestUnsent = """
        (SELECT min(o.created_at) FROM outbox_shards s CROSS JOIN LATERAL (
            SELECT created_at FROM outbox WHERE outbox.shard = s.shard AND outbox.shard_seq > s.sent_seq ORDER BY shard_seq LIMIT 1) AS o)
        """
    /// Parked records an administrator has not resolved.
    static let parked = "(SELECT count(*) FROM outbox_parked WHERE resolved_at IS NULL)"
}

/// The parking rows one round writes, and the released ones it settles.
private struct ParkingChanges {
    private var inserts: [(HubStore.PendingOutboxRecord, reason: String, attempts: Int, released: Bool)] = []
    private var resolved: [HubStore.OutboxPosition] = []
    /// Released records that failed for good again: parked anew, release withdrawn from them and their followers.
    private var failedAgain: [(HubStore.OutboxPosition, reason: String, attempts: Int)] = []
    private var withdrawn: [HubStore.OutboxPosition] = []

    var parkedCount: Int { inserts.count }

    mutating func park(_ item: HubStore.PendingOutboxRecord, reason: String, attempts: Int) {
        inserts.append((item, reason, attempts, false))
    }

    mutating func hold(_ item: HubStore.PendingOutboxRecord, behind head: HubStore.OutboxPosition, released: Bool) {
        // Behind a released key, it goes out with the key when the key's turn comes.
        inserts.append((item, "waits behind parked record \(head)", 0, released))
    }

    /// Walks a released key in order: published records are resolved; the
    /// first that fails for good becomes the key's parked record again and
    /// the rest wait behind it; any other failure leaves the rest released
    /// for the next round. Returns how many were published.
    mutating func settleReleased(_ group: [HubStore.PendingOutboxRecord], outcome: [HubStore.OutboxPosition: HubStore.PublishOutcome]) -> Int {
        var published = 0
        for (index, item) in group.enumerated() {
            switch outcome[item.position] {
            case .published:
                resolved.append(item.position)
                published += 1
            case .failed(let reason, true, let attempts):
                failedAgain.append((item.position, reason, attempts))
                withdrawn += group[index...].map(\.position)
                return published
            default:
                return published
            }
        }
        return published
    }

    /// The statements that record these changes (pipelined with the watermarks).
    var statements: [PostgresQuery] {
        var statements: [PostgresQuery] = []
        if !inserts.isEmpty {
            statements.append("""
                INSERT INTO outbox_parked (shard, shard_seq, ordering_key, reason, attempts, release_requested_at)
                SELECT shard, seq, key, reason, attempts, CASE WHEN released THEN now() END
                FROM unnest(\(HubStore.int32Array(inserts.map(\.0.position.shard)))::integer[], \(PostgresArray(inserts.map { Optional($0.0.position.seq) }))::bigint[],
                            \(PostgresArray(inserts.map { Optional($0.0.record.orderingKey) }))::text[], \(PostgresArray(inserts.map { Optional($0.reason) }))::text[],
                            \(HubStore.int32Array(inserts.map(\.attempts)))::integer[], \(PostgresArray(elements: inserts.map(\.released)))::boolean[])
                     AS t(shard, seq, key, reason, attempts, released)
                """)
        }
        if !resolved.isEmpty {
            statements.append("""
                UPDATE outbox_parked SET resolved_at = now(), resolution = 'published'
                FROM unnest(\(HubStore.int32Array(resolved.map(\.shard)))::integer[], \(PostgresArray(resolved.map { Optional($0.seq) }))::bigint[]) AS p(shard, seq)
                WHERE outbox_parked.shard = p.shard AND outbox_parked.shard_seq = p.seq
                """)
        }
        if !withdrawn.isEmpty {
            statements.append("""
                UPDATE outbox_parked SET release_requested_at = NULL
                FROM unnest(\(HubStore.int32Array(withdrawn.map(\.shard)))::integer[], \(PostgresArray(withdrawn.map { Optional($0.seq) }))::bigint[]) AS p(shard, seq)
                WHERE outbox_parked.shard = p.shard AND outbox_parked.shard_seq = p.seq
                """)
        }
        for (position, reason, attempts) in failedAgain {
            statements.append("""
                UPDATE outbox_parked SET reason = \(reason), attempts = attempts + \(attempts), parked_at = now()
                WHERE shard = \(Int32(position.shard)) AND shard_seq = \(position.seq)
                """)
        }
        return statements
    }
}
