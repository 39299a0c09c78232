import CaseModel
import Crypto
public import Foundation
import Postgres

extension HubStore {
    public enum ReplayOutcome: Sendable, Equatable {
        /// Queued to its agency topic again; the hub will judge it anew.
        case replayed(at: Date)
        /// Replayed before (replaying is idempotent): nothing done.
        case alreadyReplayed(at: Date)
        case notFound
        /// Cannot be replayed, with why.
        case notReplayable(String)
    }

    /// Sends a refused event back through the hub (a hub-stage refusal only), for an administrator who
    /// found the cause (e.g. its predecessor arrived late). In one transaction:
    /// any inbox claim left for the event is released (only if it holds this
    /// very content), the raw record is queued to its agency topic through the
    /// outbox, the action is audited with its reason and the administrator
    /// (and their token's id, through the API), and the rejection is marked replayed.
    public func replayRejection(id: Int64, reason: String, by administrator: String, tokenID: String? = nil,
                                at instant: Date) async throws -> ReplayOutcome {
        try await withTransaction { transaction in
            let rows = try await transaction.connection.query("""
                SELECT stage, event_id, source, topic, case_id, type, code, headers::text AS headers, value, replayed_at
                FROM rejections WHERE id = \(id) FOR UPDATE
                """)
            guard let row = rows.first else { return .notFound }
            // An adapter's refusal never reached the hub: there is no record to send again.
            guard try row.decode("stage", as: String.self) == RejectionStage.hub.rawValue else {
                return .notReplayable("the adapter refused this request before it reached the hub; only the agency can send it again")
            }
            if let replayedAt = try row.decode("replayed_at", as: Date?.self) { return .alreadyReplayed(at: replayedAt) }
            let code: String = try row.decode("code")
            guard RefusalCode(rawValue: code) != .eventIDReused else {
                return .notReplayable("its id belongs to another event: the agency must send it under a new id")
            }
            let topic: String = try row.decode("topic")
            let headers = try Self.headers(fromJSON: try row.decode("headers"))
            let value: [UInt8] = try row.decode("value")
            let eventID = try row.decode("event_id", as: String?.self)
            let caseID = try row.decode("case_id", as: String?.self)
            // The hub gives back a refused event's claim itself; a refusal recorded
            // before it did may still hold one. Release it only if it is this
            // record's: the hash of the same canonical form the pipeline claims with.
            if let eventID, let uuid = UUID(uuidString: eventID),
               let event = try? CloudEvent(binaryHeaders: headers, value: value) {
                let hash = Array(SHA256.hash(data: event.structured.canonicalBytes))
                try await transaction.connection.execute("""
                    DELETE FROM inbox WHERE source = \(event.source.rawValue) AND event_id = \(uuid) AND content_hash = \(hash)
                    """)
            }
            let source = try row.decode("source", as: String?.self)
            transaction.enqueue([OutboxRecord(topic: topic, key: caseID ?? source, headers: headers, value: value)])
            transaction.appendAudit(
                eventID: nil, caseID: caseID, outcome: .admin, type: AuditEntry.AdministratorAction.rejectionReplayed.rawValue, source: "admin:\(administrator)",
                occurredAt: instant, recordedAt: instant, caseVersion: nil,
                body: .object(["rejectionId": .integer(id), "eventId": eventID.map(JSONValue.string) ?? .null, "code": .string(code),
                       "reason": .string(reason)].merging(AdministrativeActor.administrator(administrator, tokenID: tokenID).fields) { $1 }),
                // With no case, on the sender's chain beside its refusal, not the administrator's.
                chainKey: caseID == nil ? source.map { AuditShards.key(caseID: nil, source: $0) } : nil)
            try await transaction.connection.execute("""
                UPDATE rejections SET replayed_at = \(instant), replay_reason = \(reason), replayed_by = \(administrator) WHERE id = \(id)
                """)
            return .replayed(at: instant)
        }
    }
}
