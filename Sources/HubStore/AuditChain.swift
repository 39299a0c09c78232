public import CaseModel
import Crypto
public import Foundation

/// One entry of the audit trail, as hashed. The hash covers every column a
/// verifier reads back, so changing, deleting, inserting or reordering rows
/// breaks the chain at that row.
public struct AuditEntry: Sendable, Hashable {
    public enum Outcome: String, Sendable { case accepted, refused, admin }

    /// The chain the entry is in (``AuditShards``); nil for entries written
    /// before the trail was sharded, which form one chain of their own.
    public var shard: Int?
    /// The entry's position in its chain (from 1). For the unsharded entries
    /// of old, also the global `seq`.
    public var seq: Int64
    public var eventID: String?
    public var caseID: String?
    public var outcome: Outcome
    public var type: String
    public var source: String
    public var occurredAt: Date
    public var recordedAt: Date
    public var caseVersion: Int64?
    public var body: JSONValue
    /// `body`'s canonical JSON: hashed into the entry and stored as is.
    public var bodyBytes: [UInt8]
    /// The canonical format the entry is hashed in (the `hash_format`
    /// column: 1, ``JSONValue/CanonicalFormat/legacy``, for every row written
    /// before it existed). The verifier makes the bytes again in the row's
    /// own format, so rows hashed before a format change still verify.
    public var format: JSONValue.CanonicalFormat

    /// `bodyBytes`, when given, must be `body.canonicalBytes(in: format)`
    /// (the pipeline has them already: the event's content hash is taken over them).
    public init(shard: Int? = nil, seq: Int64, eventID: String?, caseID: String?, outcome: Outcome, type: String, source: String,
                occurredAt: Date, recordedAt: Date, caseVersion: Int64?, body: JSONValue, bodyBytes: [UInt8]? = nil,
                format: JSONValue.CanonicalFormat = .current) {
        self.shard = shard
        self.seq = seq
        self.eventID = eventID
        self.caseID = caseID
        self.outcome = outcome
        self.type = type
        self.source = source
        self.occurredAt = occurredAt
        self.recordedAt = recordedAt
        self.caseVersion = caseVersion
        self.body = body
        self.bodyBytes = bodyBytes ?? body.canonicalBytes(in: format)
        self.format = format
    }

    /// The bytes hashed: canonical JSON of all fields, times as whole microseconds
    /// (the precision PostgreSQL keeps). Apart from the body, every field is
    /// a string, an integer or null, written alike in every format.
    var canonicalBytes: [UInt8] {
        var fields: [String: JSONValue] = [
            "seq": .integer(seq),
            "outcome": .string(outcome.rawValue),
            "type": .string(type),
            "source": .string(source),
            "occurredAt": .integer(Self.micros(occurredAt)),
            "recordedAt": .integer(Self.micros(recordedAt)),
        ]
        fields["eventId"] = eventID.map(JSONValue.string) ?? .null
        fields["caseId"] = caseID.map(JSONValue.string) ?? .null
        fields["caseVersion"] = caseVersion.map(JSONValue.integer) ?? .null
        // Unsharded entries of old were hashed without the member.
        if let shard { fields["shard"] = .integer(Int64(shard)) }
        // Entries of format 1 were hashed without it; later ones with it, so
        // the column, like every other the verifier reads, is covered.
        if format != .legacy { fields["format"] = .integer(Int64(format.rawValue)) }
        // Canonical order puts "body" first ("body" < "caseId" < …): its bytes,
        // already canonical, are spliced in rather than serialised again.
        let rest = JSONValue.object(fields).canonicalBytes
        var bytes: [UInt8] = []
        bytes.reserveCapacity(bodyBytes.count + rest.count + 8)
        bytes += Array(#"{"body":"#.utf8)
        bytes += bodyBytes
        bytes.append(UInt8(ascii: ","))
        bytes += rest.dropFirst()
        return bytes
    }

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// A time truncated to what PostgreSQL stores, so hashes survive the round trip.
    public static func storable(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(micros(date)) / 1_000_000)
    }
}

extension AuditEntry {
    /// Audit entry types for what administrators do. They are not events of
    /// the catalogue: no agency sends them, and they go to no one.
    public enum AdministratorAction: String, Sendable {
        case rejectionReplayed = "casehub.admin.rejection-replayed"
        case outboxRecordRetried = "casehub.admin.outbox-record-retried"
        case outboxRecordDiscarded = "casehub.admin.outbox-record-discarded"
        /// An agency's or an administrator's bearer token (named by its id, never its value).
        case tokenIssued = "casehub.admin.token-issued"
        case tokensRevoked = "casehub.admin.tokens-revoked"
        /// A public key an administrator registered directly (given, or made by `casehub keys generate`).
        case keyRegistered = "casehub.admin.key-registered"
        /// A key an adapter proposed, approved by an administrator.
        case keyApproved = "casehub.admin.key-approved"
        /// A new key registered and the agency's other keys retired, in one step.
        case keyRotated = "casehub.admin.key-rotated"
        case keyRetired = "casehub.admin.key-retired"
        /// Set or removed by an administrator or by the agency with its own token.
        case webhookSet = "casehub.admin.webhook-set"
        case webhookRemoved = "casehub.admin.webhook-removed"
        /// Historical cases back-filled by an administrator (``AuditEntry`` per event besides).
        case historicalImport = "casehub.admin.historical-import"
    }
}

public enum AuditChain {
    /// The hash before the first entry.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// SHA-256 over the previous hash and the entry's canonical bytes.
    public static func hash(previous: [UInt8], entry: AuditEntry) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: entry.canonicalBytes)
        return Array(hasher.finalize())
    }
}
