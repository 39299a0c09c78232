import CaseModel
import Foundation
import HubStore
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing

/// The outbox in shards, against the test database with a publish of the
/// test's own (no broker): positions, watermarks, parking, leases, and the
/// shard heads' locks that let transactions on other shards go on.
@Suite struct ShardedOutboxTests {
    let logger = Logger(label: "test.outbox")

    func migratedStore() async throws -> (HubStore, PostgresClient) {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: try await TestDatabase.create("outbox")), logger: logger)
        _ = try await Migrator(client: client, logger: logger).migrate()
        return (HubStore(client: client), client)
    }

    /// Case ids whose records all fall in one outbox shard.
    func keys(inShardOf first: String, count: Int, of shards: Int) -> [String] {
        let shard = AuditShards.shard(of: AuditShards.key(caseID: first, source: ""), count: shards)
        var keys = [first]
        var index = 0
        while keys.count < count {
            index += 1
            let candidate = "\(first)-\(index)"
            if AuditShards.shard(of: AuditShards.key(caseID: candidate, source: ""), count: shards) == shard { keys.append(candidate) }
        }
        return keys
    }

    func record(_ key: String, _ text: String) -> OutboxRecord {
        OutboxRecord(topic: "t", key: key, headers: [RecordHeader(name: "ce_subject", value: key), RecordHeader(name: "ce_id", value: text)],
                     value: Array(text.utf8))
    }

    func enqueue(_ records: [OutboxRecord], _ store: HubStore) async throws {
        try await store.withTransaction { transaction in transaction.enqueue(records) }
    }

    /// A relay holding every shard.
    func holdAll(_ store: HubStore, as holder: String = "relay-a") async throws {
        #expect(try await store.rebalanceOutboxShards(holder: holder, lease: .seconds(30)) == AuditShards.defaultCount)
    }

    /// What the relays' publish was handed, in order.
    final class Handed: Sendable {
        private let state = Mutex<[String]>([])
        func append(_ text: String) { state.withLock { $0.append(text) } }
        var all: [String] { state.withLock { $0 } }
        func clear() { state.withLock { $0.removeAll() } }
    }

    /// One round whose publish fails as `fail` says and records what it was handed.
    func round(_ store: HubStore, as holder: String = "relay-a", handed: Handed,
               fail: @escaping @Sendable (String) -> HubStore.PublishOutcome? = { _ in nil }) async throws -> HubStore.RelayRoundSummary? {
        try await store.relayRound(holder: holder, lease: .seconds(30), limit: 1_000) { pending in
            pending.map { item in
                let text = String(decoding: item.record.value, as: UTF8.self)
                handed.append(text)
                return fail(text) ?? .published
            }
        }
    }

    @Test func aRecordThatFailsForGoodParksOnlyItsCaseAndTheAdministratorDecides() async throws {
        let (store, client) = try await migratedStore()
        defer { Task { await client.shutdown() } }
        try await holdAll(store)
        // Two cases in the same shard: the worst case for "everything else flows".
        let cases = keys(inShardOf: "parked-case", count: 2, of: AuditShards.defaultCount)
        let (stuck, other) = (cases[0], cases[1])
        try await enqueue([record(stuck, "s1"), record(other, "o1"), record(stuck, "s2"), record(other, "o2")], store)
        let handed = Handed()
        // As the producer answers when it keeps a key's order: s2 is not sent after s1 was refused.
        let first = try #require(try await round(store, handed: handed) { (text: String) -> HubStore.PublishOutcome? in
            switch text {
            case "s1": .failed(reason: "Broker: Message size too large", permanent: true, attempts: 3)
            case "s2": .failed(reason: "not sent: an earlier message with its key was refused", permanent: false, attempts: 1)
            default: nil
            }
        })
        #expect(first.published == 2 && first.parked == 2)
        let parked = try await store.parkedOutboxRecords()
        #expect(parked.map(\.caseID) == [stuck, stuck])
        let head = try #require(parked.first { $0.waitsBehind == nil })
        #expect(head.reason == "Broker: Message size too large" && head.attempts == 3)
        #expect(parked.contains { $0.waitsBehind == head.position })
        #expect(try await store.parkedOutboxCount() == 2)
        #expect(try await store.outboxBacklog().count == 0, "the watermark passed the parked records")

        // A later record of the parked case waits too; the other case's goes.
        try await enqueue([record(stuck, "s3"), record(other, "o3")], store)
        handed.clear()
        _ = try await round(store, handed: handed)
        #expect(handed.all == ["o3"])
        #expect(try await store.parkedOutboxCount() == 3)

        // Only the first parked record of a case can be acted on.
        let follower = try #require(try await store.parkedOutboxRecords().first { $0.waitsBehind != nil })
        #expect(try await store.resolveParked(follower.position, .retry, reason: "x", by: "test", at: Date()) == .waitsBehind(head.position))
        // Retried, it fails for good again: parked again, the rest still waiting.
        #expect(try await store.resolveParked(head.position, .retry, reason: "broker limit raised", by: "admin-1", at: Date()) == .done)
        #expect(try await store.resolveParked(head.position, .retry, reason: "again", by: "admin-1", at: Date()) == .alreadyReleased)
        handed.clear()
        _ = try await round(store, handed: handed) { (text: String) -> HubStore.PublishOutcome? in
            text == "s1" ? .failed(reason: "still too large", permanent: true, attempts: 3) : nil
        }
        #expect(handed.all == ["s1", "s2", "s3"])
        let again = try await store.parkedOutboxRecords()
        #expect(again.count == 3 && again.allSatisfy { !$0.releaseRequested })
        #expect(again.first { $0.position == head.position }?.reason == "still too large")
        #expect(again.first { $0.position == head.position }?.attempts == 6)

        // Discarded, the case's later records go, in order.
        #expect(try await store.resolveParked(head.position, .discard, reason: "too large for any broker; the agency resends it split",
                                              by: "admin-1", at: Date()) == .done)
        handed.clear()
        let released = try #require(try await round(store, handed: handed))
        #expect(handed.all == ["s2", "s3"])
        #expect(released.published == 2)
        #expect(try await store.parkedOutboxCount() == 0)
        #expect(try await store.resolveParked(head.position, .discard, reason: "x", by: "admin-1", at: Date()) == .alreadyResolved("discarded"))

        // Both administrators' actions are in the audit trail, with their reasons.
        let audited = try await client.query("""
            SELECT type, body->>'reason' AS reason, body->>'outboxRecord' AS record FROM case_events WHERE outcome = 'admin' ORDER BY seq
            """).map { "\(try $0.decode("type", as: String.self)) \(try $0.decode("record", as: String.self)): \(try $0.decode("reason", as: String.self))" }
        #expect(audited == [
            "casehub.admin.outbox-record-retried \(head.position): broker limit raised",
            "casehub.admin.outbox-record-discarded \(head.position): too large for any broker; the agency resends it split",
        ])
        #expect(try await AuditVerifier(client: client).verifyAll().isIntact)
    }

    @Test func aPassingFailureStopsTheShardThereAndTheNextRoundGoesOnFromIt() async throws {
        let (store, client) = try await migratedStore()
        defer { Task { await client.shutdown() } }
        try await holdAll(store)
        let cases = keys(inShardOf: "broker-away", count: 2, of: AuditShards.defaultCount)
        try await enqueue([record(cases[0], "a1"), record(cases[1], "b1"), record(cases[0], "a2")], store)
        let handed = Handed()
        let first = try #require(try await round(store, handed: handed) { (text: String) -> HubStore.PublishOutcome? in
            text == "b1" ? .failed(reason: "Local: Message timed out", permanent: false, attempts: 1) : nil
        })
        #expect(first.published == 1 && first.parked == 0)
        #expect(try await store.outboxBacklog().count == 2)
        handed.clear()
        _ = try await round(store, handed: handed)
        // From the failed record on, in order (a2 again: receivers deduplicate by event id).
        #expect(handed.all == ["b1", "a2"])
        #expect(try await store.outboxBacklog().count == 0)
    }

    @Test func relaysShareTheShardsFairlyAndADeadOnesShardsMove() async throws {
        let (store, client) = try await migratedStore()
        defer { Task { await client.shutdown() } }
        let shards = AuditShards.defaultCount
        #expect(try await store.rebalanceOutboxShards(holder: "a", lease: .seconds(30)) == shards)
        // b announces itself; a gives up its extras; b takes them.
        #expect(try await store.rebalanceOutboxShards(holder: "b", lease: .seconds(30)) == 0)
        #expect(try await store.rebalanceOutboxShards(holder: "a", lease: .seconds(30)) == shards / 2)
        #expect(try await store.rebalanceOutboxShards(holder: "b", lease: .seconds(30)) == shards / 2)
        let holders = try await store.outboxShardHolders()
        #expect(holders.count == shards && Set(holders.values) == ["a", "b"])
        // A relay that does not hold a shard's lease gets no round on it.
        let handed = Handed()
        #expect(try await round(store, as: "c", handed: handed) == nil)
        // b stops renewing (its process died) and its lease runs out: a takes everything.
        try await client.execute("UPDATE outbox_shards SET lease_until = now() - interval '1 second' WHERE holder = 'b'")
        try await client.execute("UPDATE outbox_relays SET alive_until = now() - interval '1 second' WHERE holder = 'b'")
        #expect(try await store.rebalanceOutboxShards(holder: "a", lease: .seconds(30)) == shards)
        #expect(Set(try await store.outboxShardHolders().values) == ["a"])
        // A relay stopping hands its shards over at once.
        try await store.releaseOutboxShards(holder: "a")
        #expect(try await store.outboxShardHolders().isEmpty)
    }

    /// A hub transaction holds the heads of the shards it writes until it
    /// commits. Another transaction on other shards commits meanwhile; one
    /// on the same shard waits for it. With one head for everything, the
    /// second would have waited too.
    @Test func transactionsOnOtherShardsCommitWhileOneHoldsItsShard() async throws {
        let (store, client) = try await migratedStore()
        defer { Task { await client.shutdown() } }
        let shards = try await store.auditShards()
        let held = "overlap-held"
        let heldShard = AuditShards.shard(of: AuditShards.key(caseID: held, source: ""), count: shards)
        var candidate = "overlap-other"
        while AuditShards.shard(of: AuditShards.key(caseID: candidate, source: ""), count: shards) == heldShard { candidate += "x" }
        let other = candidate
        let sameShard = keys(inShardOf: held, count: 2, of: shards)[1]

        let (locked, lockedSignal) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseSignal) = AsyncStream.makeStream(of: Void.self)
        let holder = Task {
            try await client.withTransaction { connection in
                _ = try await connection.query("SELECT seq FROM audit_shards WHERE shard = \(Int32(heldShard)) FOR UPDATE")
                lockedSignal.yield()
                for await _ in release { break }
            }
        }
        for await _ in locked { break }
        @Sendable func append(_ caseID: String) async throws {
            try await store.withTransaction { transaction in
                transaction.appendAudit(eventID: UUID().uuidString, caseID: caseID, outcome: .accepted, type: "casehub.case.linked.v1",
                                        source: "zz-epb", occurredAt: Date(), recordedAt: Date(), caseVersion: 1, body: ["n": 1])
                transaction.enqueue([record(caseID, caseID)])
            }
        }
        let finished = Handed()
        let otherShard = Task { try await append(other); finished.append(other) }
        let sameAsHeld = Task { try await append(sameShard); finished.append(sameShard) }
        try await otherShard.value
        // The transaction on another shard committed while the held one was open …
        try await Task.sleep(for: .milliseconds(300))
        #expect(finished.all == [other])
        // … and the one on the held shard only after it.
        releaseSignal.yield()
        try await holder.value
        try await sameAsHeld.value
        #expect(finished.all == [other, sameShard])
        #expect(try await AuditVerifier(client: client).verifyAll().isIntact)
    }
}
