import CaseModel
import Foundation
import HubStore
import Postgres

/// Rebuilds canonical case state from the audit trail alone — every accepted
/// event, in order, through the same state machine — into a fresh table
/// (`cases_replay`), and compares it with the live `cases`.
public struct CaseReplayer: Sendable {
    public struct Report: Sendable {
        public var eventsReplayed: Int
        public var casesRebuilt: Int
        /// Cases whose rebuilt state differs from the live one (or exists on one side only).
        public var mismatches: [String]
        /// Accepted events the state machine refuses on replay.
        public var refusedOnReplay: [String]
        public var isConsistent: Bool { mismatches.isEmpty && refusedOnReplay.isEmpty }
    }

    let client: PostgresClient
    let machine: CaseMachine
    let pageSize = 2_000

    public init(client: PostgresClient, registry: AgencyRegistry) {
        self.client = client
        self.machine = CaseMachine(registry: registry)
    }

    public func replay(progress: (Int, Int) -> Void = { _, _ in }) async throws -> Report {
        let total = Int(try await client.query("SELECT count(*) AS n FROM case_events WHERE outcome = 'accepted'")[0].decode("n", as: Int64.self))
        var states: [String: CaseState] = [:]
        var refused: [String] = []
        var replayed = 0
        var after: Int64 = 0
        while true {
            let rows = try await client.query("""
                SELECT seq, body, recorded_at FROM case_events
                WHERE outcome = 'accepted' AND seq > \(after) ORDER BY seq LIMIT \(pageSize)
                """)
            if rows.isEmpty { break }
            for row in rows {
                after = try row.decode("seq")
                let event = try CloudEvent(structured: try JSONValue.parse(Array(try row.decode("body", as: String.self).utf8)))
                let receivedAt: Date = try row.decode("recorded_at")
                guard let sender = machine.registry[event.source] else {
                    refused.append("seq \(after): unknown sender \(event.source)")
                    continue
                }
                switch machine.apply(event, by: sender, at: receivedAt, to: states[event.subject]) {
                case .success(let transition):
                    states[event.subject] = transition.state
                    for case .link(let other, let relation) in transition.effects {
                        let link = CaseLink(caseID: event.subject, relation: relation)
                        if var linked = states[other], !linked.links.contains(link) {
                            linked.links.append(link)
                            states[other] = linked
                        }
                    }
                case .failure(let refusal):
                    refused.append("seq \(after) (case \(event.subject)): \(refusal.code)")
                }
                replayed += 1
            }
            progress(replayed, total)
        }
        try await client.withConnection { connection in
            try await connection.executeScript(unsafeSQL: """
                DROP TABLE IF EXISTS cases_replay;
                CREATE TABLE cases_replay (id text PRIMARY KEY, state jsonb NOT NULL)
                """)
            let rows: [[(any PostgresEncodable)?]] = try states.values.map { [$0.caseID, PostgresJSON(try $0.encoded())] }
            try await connection.copy(into: "cases_replay", columns: ["id", "state"], rows: rows)
        }
        let differing = try await client.query("""
            SELECT coalesce(l.id, r.id) AS id FROM cases l FULL OUTER JOIN cases_replay r ON r.id = l.id
            WHERE l.state IS DISTINCT FROM r.state ORDER BY 1 LIMIT 1000
            """)
        return Report(eventsReplayed: replayed, casesRebuilt: states.count,
                      mismatches: try differing.map { try $0.decode("id") }, refusedOnReplay: refused)
    }
}
