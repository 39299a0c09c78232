import CaseModel
public import Postgres

/// Writes the adapters' refusals into `rejections` with stage `adapter`, in
/// the listing administrators read for the hub's (``AdminQueries``). The row
/// has no topic (nothing reached Kafka); `value` holds the body only when it
/// was kept (``RefusedBody``), `body_size` and `body_sha256` say what it was.
public struct AdapterRejectionStore: Sendable {
    let client: PostgresClient

    public init(client: PostgresClient) {
        self.client = client
    }

    public func record(_ rejection: AdapterRejection) async throws {
        // Paths and messages may quote what was sent: only what jsonb can store.
        let violations: JSONValue = .array(rejection.violations.prefix(1_000).map {
            .object(["path": .string(Self.storable($0.path, limit: 1_000)), "rule": .string(Self.storable($0.rule, limit: 100)),
                     "message": .string(Self.storable($0.message, limit: 1_000))])
        })
        // A refused delivery keeps where it was and what it claimed to be (header text is the topic's, so made storable too).
        let delivery = rejection.delivery
        let headers: JSONValue = delivery.map { delivery in
            .array(delivery.headers.prefix(100).map { .array([.string(Self.storable($0.name, limit: 200)), .string(Self.storable($0.value, limit: 10_000))]) })
        } ?? .array([])
        try await client.execute("""
            INSERT INTO rejections (stage, source, claimed_agency, token_hash, request, http_status, code, reason, violations,
                                    headers, value, body_size, body_sha256, topic, event_id, case_id, type)
            VALUES ('adapter', \(rejection.agency.rawValue), \(rejection.claimedAgency?.rawValue), \(rejection.tokenHash),
                    \(Self.storable(rejection.request, limit: 300)), \(rejection.httpStatus), \(rejection.code.rawValue),
                    \(Self.storable(rejection.reason, limit: 4_000)), \(PostgresJSON(violations.canonicalString)),
                    \(PostgresJSON(headers.canonicalString)), \(rejection.body.bytes ?? []), \(rejection.body.size.map(Int64.init)), \(rejection.body.sha256),
                    \(delivery.map { Self.storable($0.topic, limit: 300) }), \(delivery?.eventID.map { Self.storable($0, limit: 64) }),
                    \(delivery?.caseID.map { Self.storable($0, limit: 128) }), \(delivery?.type.map { Self.storable($0, limit: 200) }))
            """)
    }

    /// Text PostgreSQL can store (no NUL), cut to a length: request paths and reasons come from outside.
    static func storable(_ text: String, limit: Int) -> String {
        String(String(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }.map(Character.init)).prefix(limit))
    }
}
