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
        try await withTransactionWritten(body).result
    }

    /// ``withTransaction(_:)``, also returning the cases it wrote with their
    /// rows' versions, for a cache of committed states.
    public func withTransactionWritten<T: Sendable>(
        _ body: (inout HubTransaction) async throws -> T
    ) async throws -> (result: T, written: [String: HubTransaction.CachedCase]) {
        let shards = try await auditShards()
        return try await client.withTransaction { connection in
            var transaction = HubTransaction(connection: connection, auditShardCount: shards)
            let result = try await body(&transaction)
            try await transaction.flush(committing: true)
            return (result, transaction.written)
        }
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
    /// Notified when an adapter records a service (``DeliveryStore``).
    public static let serviceChannel = "casehub_service"

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
