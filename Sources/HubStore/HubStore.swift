import CaseModel
import Foundation
import Logging
public import Postgres
import Synchronization

/// The hub's canonical state in PostgreSQL.
public struct HubStore: Sendable {
    let client: PostgresClient
    /// The number of audit chains, read once: it never changes.
    private let auditShardCount = AuditShardCount()

    public init(client: PostgresClient) {
        self.client = client
    }

    /// Runs `body` in one transaction; the writes it collected, the audit
    /// entries among them, are made before commit (``HubTransaction``).
    public func withTransaction<T: Sendable>(_ body: (inout HubTransaction) async throws -> T) async throws -> T {
        let shards = try await auditShards()
        return try await client.withTransaction { connection in
            var transaction = HubTransaction(connection: connection, auditShardCount: shards)
            let result = try await body(&transaction)
            try await transaction.flush()
            return result
        }
    }

    // MARK: outbox relay

    /// A record read back from the outbox.
    public struct PendingOutboxRecord: Sendable {
        public var id: Int64
        public var record: OutboxRecord
    }

    /// Runs `publish` on the oldest unsent outbox records, in id order, then
    /// marks the ids it returns as sent — all under a transaction-scoped
    /// advisory lock, so only one relay publishes at a time and order holds.
    /// Returns how many were marked, or nil when another relay holds the lock.
    public func relayOutbox(limit: Int, publish: ([PendingOutboxRecord]) async throws -> [Int64]) async throws -> Int? {
        try await client.withTransaction { connection in
            let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.relayLockKey)) AS locked")
            guard try locked[0].decode("locked", as: Bool.self) else { return nil }
            let rows = try await connection.query("""
                SELECT id, topic, key, headers, value FROM outbox
                WHERE sent_at IS NULL ORDER BY id LIMIT \(limit)
                """)
            if rows.isEmpty { return 0 }
            let pending = try rows.map { row in
                PendingOutboxRecord(id: try row.decode("id"), record: OutboxRecord(
                    topic: try row.decode("topic"),
                    key: try row.decode("key", as: String?.self),
                    headers: try Self.headers(fromJSON: try row.decode("headers", as: String.self)),
                    value: try row.decode("value")))
            }
            let sent = try await publish(pending)
            guard !sent.isEmpty else { return 0 }
            return try await connection.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY(\(PostgresArray(sent.map(Optional.some)))::bigint[])")
        }
    }

    /// Count of outbox records not yet published.
    public func outboxBacklog() async throws -> Int {
        let rows = try await client.query("SELECT count(*) AS n FROM outbox WHERE sent_at IS NULL")
        return try rows[0].decode("n")
    }

    /// How many audit chains the database has (``AuditShards``).
    public func auditShards() async throws -> Int {
        if let known = auditShardCount.value { return known }
        let count = Int(try await client.query("SELECT count(*) AS n FROM audit_shards")[0].decode("n", as: Int64.self))
        guard count > 0 else { throw HubTransaction.MissingAuditShard(shard: 0) }
        auditShardCount.value = count
        return count
    }

    /// The channel every transaction that writes outbox records notifies at
    /// commit, so that relays in every hub process publish at once.
    public static let outboxChannel = "casehub_outbox"

    static let relayLockKey: Int64 = 0x4341_5345_4855_4202

    static func headers(fromJSON text: String) throws -> [RecordHeader] {
        guard case .array(let pairs) = try JSONValue.parse(Array(text.utf8)) else { return [] }
        return pairs.compactMap { pair in
            guard case .array(let parts) = pair, parts.count == 2, let name = parts[0].stringValue, let value = parts[1].stringValue else { return nil }
            return RecordHeader(name: name, value: value)
        }
    }
}

/// A value read once and shared by copies of a store.
final class AuditShardCount: Sendable {
    private let state = Mutex<Int?>(nil)
    var value: Int? {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
