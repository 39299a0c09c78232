import CaseModel
import Crypto
import Foundation
import Hub
import HubStore
import Logging
import Postgres

/// What PostgreSQL allows for the hub's writes: the very statements the hub
/// issues per batch (inbox claim, case locks and upserts, deadlines, audit
/// chain, outbox rows), one transaction per batch with synchronous_commit=on,
/// but with the state machine's results computed beforehand and no Kafka.
struct SQLCeiling {
    let settings: BenchSettings
    let logger: Logger

    func run(_ events: [CloudEvent], batchSize: Int) async throws -> Rate {
        let databaseURL = try await settings.createDatabase("bench_sql_\(settings.runID)")
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: databaseURL), logger: logger)
        defer { Task { await client.shutdown() } }
        try await Migrator(client: client, logger: logger).migrate()
        let synchronous = try await client.setting("synchronous_commit")
        guard synchronous == "on" else { throw BenchError("synchronous_commit is \(synchronous); the benchmark needs it on") }

        // Untimed: what the hub would compute for each event.
        let registry = AgencyRegistry.zhuzhou
        let machine = CaseMachine(registry: registry)
        let receivedAt = AuditEntry.storable(Date())
        var states: [String: CaseState] = [:]
        var prepared: [(event: CloudEvent, hash: [UInt8], transition: Transition)] = []
        for event in events {
            guard let sender = registry[event.source] else { throw BenchError("the workload's sender \(event.source) is not registered") }
            guard case .success(let transition) = machine.apply(event, by: sender, at: receivedAt, to: states[event.subject]) else {
                throw BenchError("the workload's event \(event.type) for \(event.subject) is refused by the state machine")
            }
            states[event.subject] = transition.state
            prepared.append((event, Array(SHA256.hash(data: event.structured.canonicalBytes)), transition))
        }

        let store = HubStore(client: client)
        let topics = TopicNames(prefix: "bench")
        let start = ContinuousClock.now
        for chunkStart in stride(from: 0, to: prepared.count, by: batchSize) {
            let chunk = prepared[chunkStart..<min(chunkStart + batchSize, prepared.count)]
            try await store.withTransaction { transaction in
                _ = try await transaction.claimInbox(chunk.map {
                    .init(eventID: $0.event.id.uuid, source: $0.event.source.rawValue, contentHash: $0.hash)
                })
                _ = try await transaction.lockCases(Set(chunk.map(\.event.subject)))
                for (event, _, transition) in chunk {
                    let state = transition.state
                    transaction.saveCase(state)
                    transaction.saveDeadlines(caseID: state.caseID, Array(state.deadlines.values))
                    transaction.appendAudit(
                        eventID: event.id.description, caseID: event.subject, outcome: .accepted, type: event.type.rawValue, source: event.source.rawValue,
                        occurredAt: event.time, recordedAt: receivedAt, caseVersion: Int64(state.version), body: event.structured)
                    var outbox = transition.recipients.map { OutboxRecord(topic: topics.to($0), event: event) }
                    outbox.append(OutboxRecord(topic: topics.to(event.source), event: HubEvents.receipt(
                        for: event.id.description, caseID: event.subject, sender: event.source, caseVersion: state.version,
                        hubSource: "casehub", at: receivedAt)))
                    outbox.append(OutboxRecord(topic: topics.changes, event: event))
                    transaction.enqueue(outbox)
                }
            }
        }
        return Rate(count: events.count, elapsed: ContinuousClock.now - start)
    }
}
