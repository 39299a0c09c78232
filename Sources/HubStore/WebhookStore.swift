public import CaseModel
public import Foundation
public import Postgres

/// Agencies' webhooks and the push state of their deliveries.
public struct WebhookStore: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    public struct Webhook: Sendable {
        public var agency: AgencyID
        public var url: String
        public var secret: String
    }

    public struct Status: Sendable {
        public var url: String
        public var pending: Int
        public var lastSuccessAt: Date?
        public var lastFailureAt: Date?
        public var lastError: String?
        public var nextAttemptAt: Date?
    }

    /// Sets the agency's webhook. The change is recorded, in the same
    /// transaction, by the database itself (a trigger, migration 18) with
    /// `actor` named, and audited by the hub (``HubStore/auditWebhookChanges(limit:at:)``):
    /// the address without user info or query (either may hold a credential)
    /// and whether the secret changed, never the secret.
    public func register(agency: AgencyID, url: String, secret: String, by actor: AdministrativeActor, at instant: Date = Date()) async throws {
        try await client.withTransaction { connection in
            try await Self.name(actor, on: connection)
            try await connection.execute("""
                INSERT INTO webhooks (agency, url, secret, created_at) VALUES (\(agency.rawValue), \(url), \(secret), \(instant))
                ON CONFLICT (agency) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret,
                    last_error = NULL, last_failure_at = NULL
                """)
            // A new address gets every unacknowledged delivery at once, not after the old address's backoff.
            try await connection.execute("""
                UPDATE deliveries SET next_push_at = NULL, push_attempts = 0
                WHERE agency = \(agency.rawValue) AND acked_at IS NULL
                """)
        }
    }

    /// Removes the agency's webhook (recorded and audited as ``register(agency:url:secret:by:at:)``);
    /// false when it had none (nothing recorded).
    @discardableResult
    public func remove(agency: AgencyID, by actor: AdministrativeActor) async throws -> Bool {
        try await client.withTransaction { connection in
            try await Self.name(actor, on: connection)
            return try await connection.execute("DELETE FROM webhooks WHERE agency = \(agency.rawValue)") > 0
        }
    }

    /// Names who acts for the rest of the transaction, for the trigger that
    /// records webhook changes.
    private static func name(_ actor: AdministrativeActor, on connection: PostgresConnection) async throws {
        _ = try await connection.query("SELECT set_config('casehub.actor', \(actor.json.canonicalString), true) AS actor")
    }

    /// What the audit trail keeps of a webhook address: scheme, host, port and
    /// path. User info and query are dropped (`…` marks a dropped query).
    public static func auditedAddress(_ url: String) -> String {
        guard var parts = URLComponents(string: url) else { return "(unparsable address)" }
        parts.user = nil
        parts.password = nil
        let hadQuery = parts.query != nil
        parts.query = nil
        parts.fragment = nil
        return (parts.string ?? "(unparsable address)") + (hadQuery ? "?…" : "")
    }

    public func status(agency: AgencyID) async throws -> Status? {
        let rows = try await client.query("""
            SELECT w.url, w.last_success_at, w.last_failure_at, w.last_error,
                   (SELECT count(*) FROM deliveries d WHERE d.agency = w.agency AND d.acked_at IS NULL) AS pending,
                   (SELECT d.next_push_at FROM deliveries d WHERE d.agency = w.agency AND d.acked_at IS NULL
                    ORDER BY d.cursor LIMIT 1) AS next_attempt
            FROM webhooks w WHERE w.agency = \(agency.rawValue)
            """)
        return try rows.first.map { row in
            Status(url: try row.decode("url"), pending: try row.decode("pending"),
                   lastSuccessAt: try row.decode("last_success_at", as: Date?.self),
                   lastFailureAt: try row.decode("last_failure_at", as: Date?.self),
                   lastError: try row.decode("last_error", as: String?.self),
                   nextAttemptAt: try row.decode("next_attempt", as: Date?.self))
        }
    }

    /// A delivery due to be pushed.
    public struct PendingPush: Sendable {
        public var cursor: Int64
        public var eventJSON: String
        public var attempts: Int
    }

    /// Runs `push` for one agency's oldest unacknowledged deliveries, in
    /// cursor order, under a transaction-scoped advisory lock so that one
    /// process pushes an agency's deliveries at a time. `push` returns how
    /// many of them succeeded, in order, and the error of the first failure;
    /// the successes are acknowledged and the failure rescheduled with
    /// `backoff(attempts)`. Returns how many were pushed (nil when another
    /// process holds the agency, or its head is not due yet).
    public func pushRound(
        agency: AgencyID, limit: Int, backoff: @Sendable (Int) -> Duration,
        push: (Webhook, [PendingPush]) async -> (succeeded: Int, failure: String?)
    ) async throws -> Int? {
        try await client.withTransaction { connection in
            let locked = try await connection.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey), hashtext(\(agency.rawValue))) AS locked")
            guard try locked[0].decode("locked", as: Bool.self) else { return nil }
            let hooks = try await connection.query("SELECT url, secret FROM webhooks WHERE agency = \(agency.rawValue)")
            guard let hook = hooks.first else { return nil }
            let webhook = Webhook(agency: agency, url: try hook.decode("url"), secret: try hook.decode("secret"))
            let rows = try await connection.query("""
                SELECT cursor, event::text AS event, push_attempts, next_push_at <= now() OR next_push_at IS NULL AS due
                FROM deliveries WHERE agency = \(agency.rawValue) AND acked_at IS NULL
                ORDER BY cursor LIMIT \(limit)
                """)
            // In order: nothing overtakes a delivery that is waiting out its backoff.
            guard let head = rows.first, try head.decode("due", as: Bool.self) else { return nil }
            let pending = try rows.map { row in
                PendingPush(cursor: try row.decode("cursor"), eventJSON: try row.decode("event"), attempts: try row.decode("push_attempts"))
            }
            let (succeeded, failure) = await push(webhook, pending)
            if succeeded > 0 {
                let through = pending[succeeded - 1].cursor
                try await connection.execute("""
                    UPDATE deliveries SET pushed_at = now(), acked_at = coalesce(acked_at, now())
                    WHERE agency = \(agency.rawValue) AND cursor <= \(through) AND acked_at IS NULL
                    """)
                try await connection.execute("UPDATE webhooks SET last_success_at = now() WHERE agency = \(agency.rawValue)")
            }
            if let failure, succeeded < pending.count {
                let failed = pending[succeeded]
                let delay = backoff(failed.attempts + 1)
                let milliseconds = delay.components.seconds * 1000 + delay.components.attoseconds / 1_000_000_000_000_000
                try await connection.execute("""
                    UPDATE deliveries SET push_attempts = push_attempts + 1,
                        next_push_at = now() + make_interval(secs => \(Double(milliseconds) / 1000))
                    WHERE agency = \(agency.rawValue) AND cursor = \(failed.cursor)
                    """)
                try await connection.execute("""
                    UPDATE webhooks SET last_failure_at = now(), last_error = \(String(failure.prefix(500))) WHERE agency = \(agency.rawValue)
                    """)
            }
            return succeeded
        }
    }

    /// Agencies among these with a webhook.
    public func agenciesWithWebhooks(among agencies: [AgencyID]) async throws -> [AgencyID] {
        let rows = try await client.query("""
            SELECT agency FROM webhooks WHERE agency = ANY(\(PostgresArray(agencies.map { Optional($0.rawValue) }))::text[])
            """)
        return try rows.compactMap { AgencyID(rawValue: try $0.decode("agency", as: String.self)) }
    }

    /// First key of the two-key advisory locks of webhook pushers.
    static let lockKey: Int32 = 0x4348_5748  // "CHWH"
}
