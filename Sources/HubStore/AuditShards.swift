import Crypto

/// Which of the audit trail's chains an entry goes to. The function is
/// stable (SHA-256 of the key, never Swift's seeded hashing) and the number
/// of chains is fixed when the database is created, so a case's entries are
/// always in one chain, in order.
public enum AuditShards {
    /// Chains of a new database unless `casehub migrate --audit-shards` says otherwise.
    public static let defaultCount = 64

    /// The chain of a key out of `count`.
    public static func shard(of key: String, count: Int) -> Int {
        let digest = Array(SHA256.hash(data: Array(key.utf8)))
        let value = UInt32(digest[0]) << 24 | UInt32(digest[1]) << 16 | UInt32(digest[2]) << 8 | UInt32(digest[3])
        return Int(value % UInt32(count))
    }

    /// What an entry is sharded by: its case, or for a refusal with no case
    /// its sender.
    public static func key(caseID: String?, source: String) -> String {
        caseID.map { "case:\($0)" } ?? "sender:\(source)"
    }
}
