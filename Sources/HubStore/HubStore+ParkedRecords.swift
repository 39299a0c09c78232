import CaseModel
public import Foundation
import Postgres

/// Parked outbox records, for administrators: what the relay could not
/// publish and what waits behind it, and the two ways out. Retrying sends the
/// record and those behind it again, in order; discarding drops the record
/// for good and lets those behind it go. Both are audited with their reason.
extension HubStore {
    public struct ParkedOutboxRecord: Sendable, Hashable {
        public var position: OutboxPosition
        public var topic: String
        public var orderingKey: String
        /// The CloudEvent's id, type and case, as its headers carry them.
        public var eventID: String?
        public var type: String?
        public var caseID: String?
        public var size: Int
        public var reason: String
        public var attempts: Int
        public var parkedAt: Date
        /// The parked record this one waits behind; nil for the one that failed.
        public var waitsBehind: OutboxPosition?
        /// An administrator released it; the relay tries it at its next round.
        public var releaseRequested: Bool
    }

    /// Open parked records, oldest first (at most `limit`).
    public func parkedOutboxRecords(limit: Int = 500) async throws -> [ParkedOutboxRecord] {
        try await client.query("""
            SELECT p.shard, p.shard_seq, p.ordering_key, p.reason, p.attempts, p.parked_at,
                   p.release_requested_at IS NOT NULL AS released, o.topic, o.headers::text AS headers, length(o.value) AS size,
                   (SELECT min(first.shard_seq) FROM outbox_parked first
                    WHERE first.shard = p.shard AND first.ordering_key = p.ordering_key AND first.resolved_at IS NULL) AS first_seq
            FROM outbox_parked p JOIN outbox o ON o.shard = p.shard AND o.shard_seq = p.shard_seq
            WHERE p.resolved_at IS NULL
            ORDER BY p.parked_at, p.shard, p.shard_seq LIMIT \(limit)
            """).map { row in
            let shard = Int(try row.decode("shard", as: Int32.self))
            let seq: Int64 = try row.decode("shard_seq")
            let first: Int64 = try row.decode("first_seq")
            let headers = try Self.headers(fromJSON: try row.decode("headers"))
            return ParkedOutboxRecord(
                position: OutboxPosition(shard: shard, seq: seq), topic: try row.decode("topic"), orderingKey: try row.decode("ordering_key"),
                eventID: headers.value(of: "ce_id"), type: headers.value(of: "ce_type"), caseID: headers.value(of: "ce_subject"),
                size: Int(try row.decode("size", as: Int32.self)), reason: try row.decode("reason"),
                attempts: Int(try row.decode("attempts", as: Int32.self)), parkedAt: try row.decode("parked_at"),
                waitsBehind: first == seq ? nil : OutboxPosition(shard: shard, seq: first), releaseRequested: try row.decode("released"))
        }
    }

    /// How many parked records wait for an administrator.
    public func parkedOutboxCount() async throws -> Int {
        Int(try await client.query("SELECT \(unsafeSQL: OutboxSQL.parked) AS n")[0].decode("n", as: Int64.self))
    }

    public enum ParkedAction: String, Sendable {
        /// Send the record again, then those behind it.
        case retry
        /// Drop the record for good; those behind it go.
        case discard
    }

    public enum ParkedActionOutcome: Sendable, Equatable {
        case done
        case notFound
        /// Only the first parked record of a case can be acted on; this one waits behind it.
        case waitsBehind(OutboxPosition)
        /// Published or discarded already.
        case alreadyResolved(String)
        /// Released already: the relay is trying it.
        case alreadyReleased
    }

    /// Retries or discards a parked record, audited with the administrator's
    /// reason, and wakes the relays.
    public func resolveParked(_ position: OutboxPosition, _ action: ParkedAction, reason: String, by administrator: String,
                              tokenID: String? = nil, at instant: Date) async throws -> ParkedActionOutcome {
        try await withTransaction { transaction in
            let connection = transaction.connection
            let rows = try await connection.query("""
                SELECT p.ordering_key, p.resolution, p.release_requested_at IS NOT NULL AS released, o.topic, o.headers::text AS headers
                FROM outbox_parked p JOIN outbox o ON o.shard = p.shard AND o.shard_seq = p.shard_seq
                WHERE p.shard = \(Int32(position.shard)) AND p.shard_seq = \(position.seq) FOR UPDATE OF p
                """)
            guard let row = rows.first else { return .notFound }
            if let resolution = try row.decode("resolution", as: String?.self) { return .alreadyResolved(resolution) }
            let key: String = try row.decode("ordering_key")
            let first: Int64 = try await connection.query("""
                SELECT min(shard_seq) AS first FROM outbox_parked
                WHERE shard = \(Int32(position.shard)) AND ordering_key = \(key) AND resolved_at IS NULL
                """)[0].decode("first")
            guard first == position.seq else { return .waitsBehind(OutboxPosition(shard: position.shard, seq: first)) }
            if try row.decode("released", as: Bool.self) { return .alreadyReleased }
            if action == .discard {
                try await connection.execute("""
                    UPDATE outbox_parked SET resolved_at = \(instant), resolution = 'discarded', resolved_by = \(administrator)
                    WHERE shard = \(Int32(position.shard)) AND shard_seq = \(position.seq)
                    """)
            }
            // The key's open records go (again) at the relay's next round, in order.
            try await connection.execute("""
                UPDATE outbox_parked SET release_requested_at = \(instant)
                WHERE shard = \(Int32(position.shard)) AND ordering_key = \(key) AND resolved_at IS NULL
                """)
            let headers = try Self.headers(fromJSON: try row.decode("headers"))
            transaction.appendAudit(
                eventID: nil, caseID: headers.value(of: "ce_subject"), outcome: .admin,
                type: (action == .retry ? AuditEntry.AdministratorAction.outboxRecordRetried : .outboxRecordDiscarded).rawValue,
                source: "admin:\(administrator)", occurredAt: instant, recordedAt: instant, caseVersion: nil,
                body: .object(["outboxRecord": .string(position.description), "topic": .string(try row.decode("topic")),
                       "eventId": headers.value(of: "ce_id").map(JSONValue.string) ?? .null, "eventType": headers.value(of: "ce_type").map(JSONValue.string) ?? .null,
                       "reason": .string(reason)].merging(AdministrativeActor.administrator(administrator, tokenID: tokenID).fields) { $1 }))
            try await connection.execute("SELECT pg_notify(\(HubStore.outboxChannel), '')")
            return .done
        }
    }
}
