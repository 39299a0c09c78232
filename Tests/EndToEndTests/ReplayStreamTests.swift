import CaseModel
import Foundation
import Hub
import HubStore
import Logging
import Postgres
import TestSupport
import Testing

/// `casehub replay` reading the trail as one COPY stream, decoded ahead on
/// other tasks and applied in audit order: against a trail longer than one
/// chunk, with links between cases and refused entries in between, the
/// rebuilt states equal those the hub's transactions saved. Needs only the
/// test database.
@Suite struct ReplayStreamTests {
    let logger = Logger(label: "test.replay")

    @Test func aTrailOfSeveralChunksReplaysToTheSavedStates() async throws {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: try await TestDatabase.create("replay")), logger: logger)
        _ = try await Migrator(client: client, logger: logger).migrate()
        do {
            let store = HubStore(client: client)
            let registry = AgencyRegistry.zhuzhou
            let machine = CaseMachine(registry: registry)
            let sender = try #require(registry["zz-epb"])
            let cases = 300
            let steps = 12
            let receivedAt = AuditEntry.storable(Date(timeIntervalSince1970: 1_764_000_000.123456))
            var live: [String: CaseState] = [:]
            var accepted = 0
            // As the hub writes it: per batch, the states saved and an audit entry per event.
            for step in 0..<steps {
                try await store.withTransaction { transaction in
                    var changed: Set<String> = []
                    for index in 0..<cases {
                        let caseID = "zz-epb:replay-\(index)"
                        let data: JSONValue = step == 0
                            ? ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": .string("线索 \(index) " + String(repeating: "案", count: 200))]
                            : ["linkedCaseId": .string("zz-epb:replay-\((index + step) % cases)"), "relation": "same-act"]
                        let event = CloudEvent(source: "zz-epb", type: step == 0 ? .referralSubmitted : .caseLinked,
                                               time: Date(timeIntervalSince1970: 1_764_000_000 + Double(step)), subject: caseID, data: data)
                        guard case .success(let transition) = machine.apply(event, by: sender, at: receivedAt, to: live[caseID]) else {
                            Issue.record("step \(step) of \(caseID) refused")
                            return
                        }
                        live[caseID] = transition.state
                        changed.insert(caseID)
                        for case .link(let other, let relation) in transition.effects {
                            let link = CaseLink(caseID: caseID, relation: relation)
                            if var linked = live[other], !linked.links.contains(link) {
                                linked.links.append(link)
                                live[other] = linked
                                changed.insert(other)
                            }
                        }
                        transaction.appendAudit(
                            eventID: event.id.description, caseID: caseID, outcome: .accepted, type: event.type.rawValue, source: "zz-epb",
                            occurredAt: event.time, recordedAt: receivedAt, caseVersion: Int64(transition.state.version), body: event.structured)
                        accepted += 1
                        if index % 100 == 0 {
                            // A refusal in the trail: not replayed.
                            transaction.appendAudit(
                                eventID: EventID().description, caseID: caseID, outcome: .refused, type: "event.refused", source: "zz-epb",
                                occurredAt: event.time, recordedAt: receivedAt, caseVersion: nil, body: ["code": "case.unknown"])
                        }
                    }
                    for caseID in changed.sorted() { transaction.saveCase(live[caseID]!) }
                }
            }

            var progress: [(Int, Int)] = []
            let report = try await CaseReplayer(store: store, registry: registry).replay { progress.append(($0, $1)) }
            #expect(report.eventsReplayed == accepted)
            #expect(report.casesRebuilt == cases)
            #expect(report.isConsistent, "\(report.mismatches.prefix(5)) \(report.refusedOnReplay.prefix(5))")
            // More than one chunk, reported as it went, ending at the total.
            #expect(progress.count > 1)
            #expect(progress.last.map { $0 == (accepted, accepted) } ?? false)
            #expect(zip(progress, progress.dropFirst()).allSatisfy { $0.0 < $1.0 })

            // A live state that drifted from the trail is named.
            try await client.execute("UPDATE cases SET state = jsonb_set(state, '{status}', '\"returned\"') WHERE id = 'zz-epb:replay-7'")
            let drifted = try await CaseReplayer(store: store, registry: registry).replay()
            #expect(drifted.mismatches == ["zz-epb:replay-7"])
            // The session that streamed is back in the pool and usable.
            #expect(try await client.query("SELECT 1 AS one")[0].decode("one", as: Int.self) == 1)
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
