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
    public func store(_ events: [(agency: AgencyID, event: CloudEvent)], at instant: Date = Date()) async throws -> Int {
        try await store(events.map { Incoming(agency: $0.agency, event: $0.event) }, at: instant)
    }

    /// A delivery to store: the event, and its structured JSON as stored.
    public struct Incoming: Sendable {
        public var agency: AgencyID
        public var event: CloudEvent
        public var structuredJSON: [UInt8]
        /// Whether its receipt starts the agency's clocks (the hub's
        /// ``OutboxRecord/servesHeader``): its storing is then recorded as the service.
        public var serves: Bool

        public init(agency: AgencyID, event: CloudEvent, serves: Bool = false) {
            self.init(agency: agency, event: event, structuredJSON: event.structured.canonicalBytes, serves: serves)
        }

        /// `structuredJSON` must be `event`'s structured form (e.g. from
        /// ``CloudEvent/structuredBytes(dataBytes:)`` over the record's value).
        public init(agency: AgencyID, event: CloudEvent, structuredJSON: [UInt8], serves: Bool = false) {
            self.agency = agency
            self.event = event
            self.structuredJSON = structuredJSON
            self.serves = serves
        }
    }

    /// Stores the deliveries as delivered at `instant` (the hub's clock).
    /// A delivery that serves its agency (``Incoming/serves``) is recorded as
    /// served at that instant in the same statement, for the hub to start
    /// the clocks that await it, and the hub is woken (``HubStore/serviceChannel``).
    @discardableResult
    public func store(_ events: [Incoming], at instant: Date = Date()) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        // One statement for the whole batch, in consumption order.
        let agencies = PostgresArray(events.map { Optional($0.agency.rawValue) })
        let sources = PostgresArray(events.map { Optional($0.event.source.rawValue) })
        let ids = PostgresArray(events.map { Optional($0.event.id.description) })
        let cases = PostgresArray(events.map { Optional($0.event.subject) })
        let types = PostgresArray(events.map { Optional($0.event.type.rawValue) })
        let bodies = PostgresArray(events.map { Optional(String(decoding: $0.structuredJSON, as: UTF8.self)) })
        let at = AuditEntry.storable(instant)
        guard events.contains(where: \.serves) else {
            return try await client.execute("""
                INSERT INTO deliveries (agency, source, event_id, case_id, type, event, delivered_at)
                SELECT a, s, i, c, t, e::jsonb, \(at)
                FROM unnest(\(agencies)::text[], \(sources)::text[], \(ids)::text[], \(cases)::text[], \(types)::text[], \(bodies)::text[])
                     WITH ORDINALITY AS batch(a, s, i, c, t, e, n)
                ORDER BY n
                ON CONFLICT (agency, source, event_id) DO NOTHING
                """)
        }
        let serves = PostgresArray(events.map { Optional($0.serves ? "t" : "f") })
        let rows = try await client.query("""
            WITH batch AS (
                SELECT * FROM unnest(\(agencies)::text[], \(sources)::text[], \(ids)::text[], \(cases)::text[], \(types)::text[],
                                     \(bodies)::text[], \(serves)::bool[]) WITH ORDINALITY AS b(a, s, i, c, t, e, serves, n)
            ), stored AS (
                INSERT INTO deliveries (agency, source, event_id, case_id, type, event, delivered_at)
                SELECT a, s, i, c, t, e::jsonb, \(at) FROM batch ORDER BY n
                ON CONFLICT (agency, source, event_id) DO NOTHING
                RETURNING agency, source, event_id, case_id
            ), served AS (
                INSERT INTO service_records (agency, source, event_id, case_id, served_at)
                SELECT st.agency, st.source, st.event_id, st.case_id, \(at)
                FROM stored st JOIN batch b ON b.a = st.agency AND b.s = st.source AND b.i = st.event_id
                WHERE b.serves AND st.case_id IS NOT NULL
                ON CONFLICT (agency, source, event_id) DO NOTHING
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM stored) AS stored,
                   (SELECT count(*) FROM (SELECT pg_notify(\(HubStore.serviceChannel), '') FROM (SELECT 1 FROM served LIMIT 1) s) notified) AS notified
            """)
        return Int(try rows[0].decode("stored", as: Int64.self))
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
