import CaseModel
import Foundation
import Postgres

/// Checkpoints of the audit chains (``AuditCheckpoint``): the heads as they
/// stand, the signed checkpoints kept, and the check of a kept checkpoint
/// against the rows.
extension HubStore {
    /// Every chain's head, read in one statement (one consistent snapshot).
    public func auditHeads() async throws -> [AuditCheckpoint.Head] {
        try await client.query("SELECT shard, seq, hash FROM audit_shards ORDER BY shard").map { row in
            AuditCheckpoint.Head(shard: Int(try row.decode("shard", as: Int32.self)), seq: try row.decode("seq"), hash: try row.decode("hash"))
        }
    }

    /// Keeps a signed checkpoint and queues its publication, in one transaction.
    public func recordCheckpoint(_ signed: AuditCheckpoint.Signed, publishing record: OutboxRecord) async throws {
        try await withTransaction { transaction in
            try await transaction.connection.execute("""
                INSERT INTO audit_checkpoints (created_at, key_id, body, signature)
                VALUES (\(signed.checkpoint.time), \(signed.checkpoint.keyID), \(signed.checkpoint.body), \(signed.signature))
                """)
            transaction.enqueue([record])
        }
    }

    /// The checkpoints kept in this database, oldest first (at most `limit`).
    public func checkpoints(limit: Int = 10_000) async throws -> [AuditCheckpoint.Signed] {
        try await client.query("SELECT body, signature FROM audit_checkpoints ORDER BY id LIMIT \(limit)").map { row in
            AuditCheckpoint.Signed(checkpoint: try AuditCheckpoint(body: try row.decode("body")), signature: try row.decode("signature"))
        }
    }

    /// Where the rows disagree with a checkpoint: for each chain, the row at
    /// the checkpointed position must be there with the checkpointed hash.
    /// Together with an intact chain (``AuditVerifier``), that row's hash pins
    /// every row before it, as they were when the checkpoint was signed.
    public func disagreements(with checkpoint: AuditCheckpoint) async throws -> [String] {
        let heads = checkpoint.heads.filter { $0.seq > 0 }
        guard !heads.isEmpty else { return [] }
        let rows = try await client.query("""
            SELECT c.shard, c.seq, e.hash
            FROM unnest(\(PostgresArray(heads.map { Optional(Int64($0.shard)) }))::bigint[],
                        \(PostgresArray(heads.map { Optional($0.seq) }))::bigint[]) AS c(shard, seq)
            LEFT JOIN case_events e ON e.shard = c.shard AND e.shard_seq = c.seq
            """)
        var found: [Int: [UInt8]?] = [:]
        for row in rows {
            found[Int(try row.decode("shard", as: Int64.self))] = try row.decode("hash", as: [UInt8]?.self)
        }
        var problems: [String] = []
        for head in heads {
            switch found[head.shard] {
            case .some(.some(let hash)) where hash == head.hash:
                continue
            case .some(.some):
                problems.append("chain \(head.shard) #\(head.seq): the row's hash differs from the checkpoint of \(RFC3339.format(checkpoint.time)) (the chain was rewritten)")
            default:
                problems.append("chain \(head.shard) #\(head.seq): the row the checkpoint of \(RFC3339.format(checkpoint.time)) covers is gone")
            }
        }
        return problems
    }
}
