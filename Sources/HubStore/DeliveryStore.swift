public import CaseModel
public import Foundation
public import Postgres

/// The adapter side: events delivered to agencies, kept until acknowledged.
public struct DeliveryStore: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    /// One event in an agency's inbox; `cursor` orders the inbox.
    public struct Delivery: Sendable, Hashable {
        public var cursor: Int64
        public var agency: String
        public var event: CloudEvent
        public var deliveredAt: Date
        public var ackedAt: Date?
    }

    /// Stores events consumed from `to.<agency>`; an event already delivered
    /// to that agency (same source and id) is skipped. Returns how many were new.
    @discardableResult
    public func store(_ events: [(agency: AgencyID, event: CloudEvent)]) async throws -> Int {
        try await store(events.map { Incoming(agency: $0.agency, event: $0.event) })
    }

    /// A delivery to store: the event, and its structured JSON as stored.
    public struct Incoming: Sendable {
        public var agency: AgencyID
        public var event: CloudEvent
        public var structuredJSON: [UInt8]

        public init(agency: AgencyID, event: CloudEvent) {
            self.init(agency: agency, event: event, structuredJSON: event.structured.canonicalBytes)
        }

        /// `structuredJSON` must be `event`'s structured form (e.g. from
        /// ``CloudEvent/structuredBytes(dataBytes:)`` over the record's value).
        public init(agency: AgencyID, event: CloudEvent, structuredJSON: [UInt8]) {
            self.agency = agency
            self.event = event
            self.structuredJSON = structuredJSON
        }
    }

    @discardableResult
    public func store(_ events: [Incoming]) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        // One statement for the whole batch, in consumption order.
        let agencies = PostgresArray(events.map { Optional($0.agency.rawValue) })
        let sources = PostgresArray(events.map { Optional($0.event.source.rawValue) })
        let ids = PostgresArray(events.map { Optional($0.event.id.description) })
        let cases = PostgresArray(events.map { Optional($0.event.subject) })
        let types = PostgresArray(events.map { Optional($0.event.type.rawValue) })
        let bodies = PostgresArray(events.map { Optional(String(decoding: $0.structuredJSON, as: UTF8.self)) })
        return try await client.execute("""
            INSERT INTO deliveries (agency, source, event_id, case_id, type, event)
            SELECT a, s, i, c, t, e::jsonb
            FROM unnest(\(agencies)::text[], \(sources)::text[], \(ids)::text[], \(cases)::text[], \(types)::text[], \(bodies)::text[])
                 WITH ORDINALITY AS batch(a, s, i, c, t, e, n)
            ORDER BY n
            ON CONFLICT (agency, source, event_id) DO NOTHING
            """)
    }

    /// Events after `cursor` (or after the last acknowledged one when nil), oldest first.
    public func inbox(agency: AgencyID, after cursor: Int64?, limit: Int) async throws -> [Delivery] {
        let start: Int64
        if let cursor { start = cursor } else { start = try await ackedCursor(agency: agency) }
        let rows = try await client.query("""
            SELECT cursor, agency, event, delivered_at, acked_at FROM deliveries
            WHERE agency = \(agency.rawValue) AND cursor > \(start)
            ORDER BY cursor LIMIT \(limit)
            """)
        return try rows.map { row in
            let json = try JSONValue.parse(Array(try row.decode("event", as: String.self).utf8))
            return Delivery(
                cursor: try row.decode("cursor"),
                agency: try row.decode("agency"),
                event: try CloudEvent(structured: json),
                deliveredAt: try row.decode("delivered_at"),
                ackedAt: try row.decode("acked_at", as: Date?.self))
        }
    }

    /// Marks every delivery up to and including `cursor` as acknowledged.
    /// Returns how many were newly acknowledged.
    @discardableResult
    public func acknowledge(agency: AgencyID, through cursor: Int64) async throws -> Int {
        try await client.execute("""
            UPDATE deliveries SET acked_at = now()
            WHERE agency = \(agency.rawValue) AND cursor <= \(cursor) AND acked_at IS NULL
            """)
    }

    /// The highest cursor acknowledged without a gap before it (0 when none).
    public func ackedCursor(agency: AgencyID) async throws -> Int64 {
        let rows = try await client.query("""
            SELECT coalesce(
                (SELECT min(cursor) - 1 FROM deliveries WHERE agency = \(agency.rawValue) AND acked_at IS NULL),
                (SELECT max(cursor) FROM deliveries WHERE agency = \(agency.rawValue)),
                0) AS cursor
            """)
        return try rows[0].decode("cursor")
    }
}
