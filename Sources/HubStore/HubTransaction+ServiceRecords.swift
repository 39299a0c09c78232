public import Foundation
import Postgres

/// The service records adapters write as they store a delivery in the served
/// agency's inbox (``DeliveryStore``), read by the hub to start the clocks
/// that run from that receipt.
extension HubTransaction {
    public struct ServiceRecord: Sendable, Hashable {
        public var id: Int64
        /// The agency served.
        public var agency: String
        /// The served event's sender and id.
        public var source: String
        public var eventID: String
        public var caseID: String
        /// When the delivery was stored, by the hub's clock.
        public var servedAt: Date
    }

    /// Records not yet applied, oldest first, locked until commit. Records
    /// another hub process has locked are skipped: the processes share them.
    public mutating func claimServiceRecords(limit: Int) async throws -> [ServiceRecord] {
        try await connection.query("""
            SELECT id, agency, source, event_id, case_id, served_at FROM service_records
            WHERE applied_at IS NULL ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED
            """).map { row in
            ServiceRecord(id: try row.decode("id"), agency: try row.decode("agency"), source: try row.decode("source"),
                          eventID: try row.decode("event_id"), caseID: try row.decode("case_id"), servedAt: try row.decode("served_at"))
        }
    }

    public mutating func markServiceRecordsApplied(_ ids: [Int64], at instant: Date) async throws {
        guard !ids.isEmpty else { return }
        try await connection.execute("""
            UPDATE service_records SET applied_at = \(AuditEntry.storable(instant)) WHERE id = ANY(\(PostgresArray(ids.map(Optional.some)))::bigint[])
            """)
    }
}
