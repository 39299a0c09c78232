import CaseModel
import Crypto
import Foundation
import HubStore
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing

/// The stores against the test database, without a broker or a hub: each
/// test migrates a database of its own and calls the store's methods.
@Suite struct HubStoreTests {
    let logger = Logger(label: "test.hubstore")

    func migratedClient() async throws -> PostgresClient {
        try await TestDatabase.migrated("hubstore", logger: logger)
    }

    func referral(_ caseID: String, id: EventID = EventID()) -> CloudEvent {
        // Whole seconds: the time survives the round trip through stored JSON exactly.
        CloudEvent(id: id, source: "zz-epb", type: .referralSubmitted, time: Date(timeIntervalSince1970: 1_764_000_000), subject: caseID,
                   data: ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"])
    }

    /// Same id and content again is a duplicate, same id with other content a
    /// conflict: one statement decides both for a whole batch.
    @Test func theInboxTellsARetryFromAReusedID() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let store = HubStore(client: client)
        let id = EventID()
        let first = try await store.withTransaction { transaction in
            try await transaction.claimInbox([.init(eventID: id.uuid, source: "zz-epb", contentHash: [1, 2, 3])])
        }
        let again = try await store.withTransaction { transaction in
            try await transaction.claimInbox([
                .init(eventID: id.uuid, source: "zz-epb", contentHash: [1, 2, 3]),
                .init(eventID: id.uuid, source: "zz-epb", contentHash: [9]),
                .init(eventID: EventID().uuid, source: "zz-epb", contentHash: [4]),
            ])
        }
        #expect(first == [.new])
        #expect(again == [.duplicate, .conflicting, .new])
    }

    /// What a batch appends is hash-chained, and the verifier finds it intact;
    /// the entry's canonical bytes splice the body's bytes exactly where a
    /// full serialisation puts them.
    @Test func appendedEntriesFormAnIntactChain() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let store = HubStore(client: client)
        let events = (0..<5).map { referral("hubstore-\($0)") }
        try await store.withTransaction { transaction in
            for event in events {
                let structured = event.structured
                transaction.appendAudit(
                    eventID: event.id.description, caseID: event.subject, outcome: .accepted, type: event.type.rawValue,
                    source: event.source.rawValue, occurredAt: event.time, recordedAt: Date(), caseVersion: 1,
                    body: structured, bodyBytes: structured.canonicalBytes)
            }
        }
        let report = try await AuditVerifier(client: client).verifyAll()
        #expect(report.checked == 5 && report.isIntact, "\(report.breaks)")
    }

    @Test func spliceOfTheBodyEqualsAFullSerialisation() throws {
        let event = referral("splice")
        let entry = AuditEntry(seq: 7, eventID: event.id.description, caseID: event.subject, outcome: .accepted,
                               type: event.type.rawValue, source: "zz-epb", occurredAt: event.time, recordedAt: event.time,
                               caseVersion: nil, body: event.structured)
        let full = JSONValue.object([
            "seq": 7, "eventId": .string(event.id.description), "caseId": .string(event.subject), "outcome": "accepted",
            "type": .string(event.type.rawValue), "source": "zz-epb",
            "occurredAt": .integer(Int64((event.time.timeIntervalSince1970 * 1_000_000).rounded())),
            "recordedAt": .integer(Int64((event.time.timeIntervalSince1970 * 1_000_000).rounded())),
            "caseVersion": .null, "body": event.structured, "format": 2,
        ]).canonicalBytes
        #expect(AuditChain.hash(previous: AuditChain.genesis, entry: entry) == Array(SHA256.hash(data: AuditChain.genesis + full)))
        // Format 1 entries were hashed without the format member.
        var legacy = entry
        legacy.format = .legacy
        let legacyFull = JSONValue.object(try #require(try JSONValue.parse(full).objectValue).filter { $0.key != "format" }).canonicalBytes
        #expect(AuditChain.hash(previous: AuditChain.genesis, entry: legacy) == Array(SHA256.hash(data: AuditChain.genesis + legacyFull)))
    }

    /// The audit trail is no single line: while one transaction holds a
    /// chain's head (as a hub does while it writes its batch), a transaction
    /// on another chain commits, and one on the same chain waits.
    @Test func transactionsOnDifferentChainsDoNotWaitForEachOther() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let store = HubStore(client: client)
        let count = try await store.auditShards()
        #expect(count == AuditShards.defaultCount)
        func shard(_ caseID: String) -> Int { AuditShards.shard(of: AuditShards.key(caseID: caseID, source: "zz-epb"), count: count) }
        let held = "chain-held"
        let other = try #require((0..<1_000).map { "chain-other-\($0)" }.first { shard($0) != shard(held) })
        func append(_ caseID: String) async throws {
            let event = referral(caseID)
            try await store.withTransaction { transaction in
                transaction.appendAudit(eventID: event.id.description, caseID: caseID, outcome: .accepted, type: event.type.rawValue,
                                        source: "zz-epb", occurredAt: event.time, recordedAt: Date(), caseVersion: 1, body: event.structured)
            }
        }
        let holding = RunFlag(false)
        let release = RunFlag(false)
        let holder = Task {
            try await client.withTransaction { connection in
                _ = try await connection.query("SELECT seq FROM audit_shards WHERE shard = \(Int64(shard(held))) FOR UPDATE")
                holding.value = true
                while !release.value { try await Task.sleep(for: .milliseconds(20)) }
            }
        }
        #expect(await eventually { holding.value })
        let started = ContinuousClock.now
        try await append(other)
        #expect(ContinuousClock.now - started < .seconds(5), "another chain's transaction must not wait")
        let done = RunFlag(false)
        let waiting = Task {
            try await append(held)
            done.value = true
        }
        try await Task.sleep(for: .milliseconds(500))
        #expect(!done.value, "a transaction on the held chain waits for its head")
        release.value = true
        try await holder.value
        try await waiting.value
        #expect(done.value)
        let report = try await AuditVerifier(client: client).verifyAll()
        #expect(report.checked == 2 && report.isIntact, "\(report.breaks)")
    }

    /// The shard function is stable (it must never move a case between chains).
    @Test func theShardOfACaseIsStable() {
        #expect(AuditShards.shard(of: "case:audit-1", count: 64) == 29)
        #expect(AuditShards.shard(of: "case:audit-2", count: 64) == 34)
        #expect(AuditShards.key(caseID: nil, source: "zz-court") == "sender:zz-court")
        let spread = Set((0..<1_000).map { AuditShards.shard(of: "case:\($0)", count: 64) })
        #expect(spread.count == 64, "1,000 cases reach every chain")
    }

    /// A transaction that writes outbox records notifies the outbox channel
    /// at commit, so that a relay in any process wakes; one that writes none
    /// stays silent.
    @Test func committingOutboxRecordsNotifiesTheRelays() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let store = HubStore(client: client)
        let listener = PostgresListener(configuration: client.configuration, channels: [HubStore.outboxChannel], logger: logger)
        let listening = Task { try await listener.run() }
        defer { listening.cancel() }
        #expect(await eventually { listener.isListening })
        let heard = RoundCounter()
        let counting = Task { for await _ in listener.notifications { heard.add("notify") } }
        defer { counting.cancel() }
        try await store.withTransaction { transaction in
            transaction.appendAudit(eventID: nil, caseID: "quiet", outcome: .admin, type: "test", source: "test",
                                    occurredAt: Date(), recordedAt: Date(), caseVersion: nil, body: [:])
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(heard.count("notify") == 0)
        try await store.withTransaction { transaction in
            transaction.enqueue([OutboxRecord(topic: "test.changes", event: referral("notify"))])
        }
        #expect(await eventually(timeout: .seconds(5)) { heard.count("notify") == 1 })
    }

    /// One process leads at a time; when its session ends, another takes over.
    @Test func oneLeaderAtATime() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let store = HubStore(client: client)
        let key = Int64.random(in: 1...Int64.max)
        let rounds = RoundCounter()
        let firstRunning = RunFlag(true)
        let first = Task {
            try await store.leaderSession(lockKey: key).lead(every: .milliseconds(20), while: { firstRunning.value }, logger: logger) {
                rounds.add("first")
            }
        }
        #expect(await eventually { rounds.count("first") > 2 })
        let secondRunning = RunFlag(true)
        let second = Task {
            try await store.leaderSession(lockKey: key).lead(every: .milliseconds(20), while: { secondRunning.value }, logger: logger) {
                rounds.add("second")
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(rounds.count("second") == 0, "the second process must not lead while the first does")
        firstRunning.value = false
        try await first.value
        #expect(await eventually { rounds.count("second") > 2 }, "the second process takes over once the first is gone")
        secondRunning.value = false
        try await second.value
    }

    /// Replay's scratch table against the live cases: equal states match,
    /// a changed or missing one is named.
    @Test func replayedCasesAreComparedWithTheLiveOnes() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let store = HubStore(client: client)
        let machine = CaseMachine(registry: .zhuzhou)
        var states: [CaseState] = []
        for index in 0..<3 {
            let event = referral("zz-epb:replay-\(index)")
            guard case .success(let transition) = machine.apply(event, by: AgencyRegistry.zhuzhou["zz-epb"]!, at: Date(), to: nil) else {
                Issue.record("the referral was refused")
                return
            }
            states.append(transition.state)
        }
        try await store.withTransaction { transaction in
            for state in states { transaction.saveCase(state) }
        }
        try await store.storeReplayedCases(states)
        #expect(try await store.casesDifferingFromReplay().isEmpty)
        var changed = states[1]
        changed.status = "returned"
        try await store.storeReplayedCases([states[0], changed])
        #expect(try await store.casesDifferingFromReplay() == ["zz-epb:replay-1", "zz-epb:replay-2"])
    }

    /// Deliveries are kept once per agency and event id, in arrival order.
    @Test func deliveriesAreStoredOncePerAgency() async throws {
        let client = try await migratedClient()
        defer { Task { await client.shutdown() } }
        let deliveries = DeliveryStore(client: client)
        let events = (0..<3).map { referral("delivery-\($0)") }
        #expect(try await deliveries.store(events.map { (agency: "zz-procuratorate", event: $0) }) == 3)
        #expect(try await deliveries.store([(agency: "zz-procuratorate", event: events[1]), (agency: "zz-cdi", event: events[1])]) == 1)
        let inbox = try await deliveries.inbox(agency: "zz-procuratorate", after: nil, limit: 10)
        #expect(inbox.map(\.event.id) == events.map(\.id))
        #expect(inbox.map(\.event) == events.map { $0 })
    }
}

/// Counts rounds per name, across tasks.
final class RoundCounter: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func add(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }
    func count(_ name: String) -> Int { counts.withLock { $0[name] ?? 0 } }
}

final class RunFlag: Sendable {
    private let state: Mutex<Bool>
    init(_ value: Bool) { state = Mutex(value) }
    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
