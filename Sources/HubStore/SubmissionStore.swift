public import CaseModel
public import Foundation
public import Postgres

/// The event ids an adapter accepted, with their content hashes (`adapter_submissions`).
public struct SubmissionStore: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    public enum Claim: Sendable, Equatable {
        /// Not seen before, or seen with the same content: publish.
        case accepted
        /// Seen before with different content.
        case conflicting
    }

    /// Records each event id with its content hash; one claim per entry, in
    /// order. When any entry conflicts nothing is recorded, so that ids of a
    /// refused batch stay free.
    public func claim(agency: AgencyID, _ entries: [(eventID: UUID, contentHash: [UInt8])]) async throws -> [Claim] {
        guard !entries.isEmpty else { return [] }
        do {
            return try await client.withTransaction { connection in
                let claims = try await claim(agency: agency, entries, on: connection)
                if claims.contains(.conflicting) { throw RollBack(claims: claims) }
                return claims
            }
        } catch let rollBack as RollBack {
            return rollBack.claims
        }
    }

    private struct RollBack: Error {
        let claims: [Claim]
    }

    private func claim(agency: AgencyID, _ entries: [(eventID: UUID, contentHash: [UInt8])], on connection: PostgresConnection) async throws -> [Claim] {
        // Ids are the agency's own (unique per sender): another agency's ids never collide with them.
        let rows = try await connection.query("""
            WITH input AS (
                SELECT * FROM unnest(\(PostgresArray(entries.map(\.eventID)))::uuid[],
                                     \(PostgresArray(elements: entries.map(\.contentHash)))::bytea[]) AS t(event_id, content_hash)
            ), inserted AS (
                INSERT INTO adapter_submissions (event_id, agency, content_hash)
                SELECT DISTINCT ON (event_id) event_id, \(agency.rawValue), content_hash FROM input
                ON CONFLICT (agency, event_id) DO NOTHING
                RETURNING event_id, content_hash
            )
            SELECT input.event_id, coalesce(inserted.content_hash, existing.content_hash) = input.content_hash AS same
            FROM input
            LEFT JOIN inserted ON inserted.event_id = input.event_id
            LEFT JOIN adapter_submissions existing ON existing.agency = \(agency.rawValue) AND existing.event_id = input.event_id
            """)
        var same: [UUID: Bool] = [:]
        var unresolved: [UUID] = []
        for row in rows {
            let id: UUID = try row.decode("event_id")
            guard let verdict = try row.decode("same", as: Bool?.self) else {
                unresolved.append(id)
                continue
            }
            same[id] = (same[id] ?? true) && verdict
        }
        // Inserted by a concurrent request after this statement's snapshot: read it now.
        if !unresolved.isEmpty {
            let stored = try await connection.query("""
                SELECT event_id, content_hash FROM adapter_submissions
                WHERE agency = \(agency.rawValue) AND event_id = ANY(\(PostgresArray(unresolved))::uuid[])
                """)
            var byID: [UUID: [UInt8]] = [:]
            for row in stored { byID[try row.decode("event_id")] = try row.decode("content_hash") }
            for entry in entries where unresolved.contains(entry.eventID) {
                same[entry.eventID] = (same[entry.eventID] ?? true) && byID[entry.eventID] == entry.contentHash
            }
        }
        // A refused event's id is not used up: other content may take it, once
        // the hub has refused what it held and never accepted anything under it.
        // (Not an id given twice in this batch with different content: that stays a conflict.)
        let byID = Dictionary(grouping: entries, by: \.eventID)
        let conflicting = byID.values.compactMap { group in
            group.allSatisfy({ $0.contentHash == group[0].contentHash }) && same[group[0].eventID] == false ? group[0] : nil
        }
        if !conflicting.isEmpty {
            let freed = try await connection.query("""
                UPDATE adapter_submissions s SET content_hash = k.content_hash, submitted_at = now()
                FROM unnest(\(PostgresArray(conflicting.map(\.eventID)))::uuid[],
                            \(PostgresArray(elements: conflicting.map(\.contentHash)))::bytea[]) AS k(event_id, content_hash)
                WHERE s.agency = \(agency.rawValue) AND s.event_id = k.event_id
                  AND EXISTS (SELECT 1 FROM rejections r WHERE r.stage = 'hub' AND r.source = \(agency.rawValue) AND r.event_id = k.event_id::text)
                  AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.source = \(agency.rawValue) AND i.event_id = k.event_id)
                RETURNING s.event_id
                """)
            for row in freed { same[try row.decode("event_id", as: UUID.self)] = true }
        }
        return entries.map { same[$0.eventID] == true ? .accepted : .conflicting }
    }
}
