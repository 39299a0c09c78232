import CaseModel
import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import HubStore
import Kafka
import Logging
import Postgres
import Testing
import TestSupport

/// Real `casehub hub` processes against the real broker and database, under
/// faults: two instances sharing the work, SIGKILL mid-run, the database
/// restarted, duplicates and a replayed topic. Afterwards every event must be
/// applied exactly once, in order per case, and every delivery queued and sent.
@Suite(.serialized)
struct HubFaultTests {
    let logger: Logger = {
        var logger = Logger(label: "test.faults")
        logger.logLevel = .warning
        return logger
    }()

    /// One test's world: its own database and topic prefix, a signing key for the sender.
    struct World {
        let databaseURL: String
        let prefix: String
        let key = Curve25519.Signing.PrivateKey()
        let database: PostgresClient
        var topics: TopicNames { TopicNames(prefix: prefix) }
    }

    func makeWorld() async throws -> World {
        let url = try await TestDatabase.create("fault")
        let world = World(databaseURL: url, prefix: TestEnvironment.uniqueName("fault"),
                          database: PostgresClient(configuration: PostgresConfiguration(connectionString: url), logger: logger))
        // The administrator's part: the schema, the roles (logging in, as on the local stack), the topics.
        try await Migrator(client: world.database, logger: logger).migrate()
        try await DatabaseRole.allowLocalLogin(client: world.database)
        _ = try await AgencyKeyStore(client: world.database).register(agency: "zz-epb", publicKey: world.key.publicKey, by: .administrator("fault-test"))
        try await createTopics(world)
        return world
    }

    /// Every topic a `casehub hub` of the standard registry uses: it creates none.
    func createTopics(_ world: World, brokers: String = TestEnvironment.kafkaBrokers) async throws {
        let names = [world.topics.changes, world.topics.rejected, world.topics.checkpoints]
            + AgencyRegistry.zhuzhou.all.flatMap { [world.topics.from($0.id), world.topics.to($0.id)] }
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: [brokers]), logger: logger)
        _ = try await admin.createTopics(names.map { KafkaAdmin.TopicSpecification(name: $0, partitions: 3, replicationFactor: 1) })
    }

    // MARK: casehub processes

    final class CaseHubProcess: @unchecked Sendable {
        let process = Process()
        let command: [String]
        let httpPort: Int
        /// Its standard error (the log), when asked for.
        let logFile: URL?

        /// `command` is the subcommand and its own options (`casehub hub` by default);
        /// `databaseURL`/`kafkaBrokers` replace the world's (to go through a proxy);
        /// `logFile` keeps its log for the test to read.
        init(_ world: World, command: [String] = ["hub"], httpPort: Int = 0, databaseURL: String? = nil, kafkaBrokers: String? = nil,
             environment extra: [String: String] = [:], logFile: URL? = nil) throws {
            self.command = command
            self.httpPort = httpPort
            self.logFile = logFile
            process.executableURL = PackagePaths.casehubExecutable
            process.arguments = command + ["--http-port", String(httpPort), "--session-timeout-ms", "6000", "--log-level", "warning",
                                 "--kafka-property", "heartbeat.interval.ms=500"]
            var environment = ProcessInfo.processInfo.environment
            // The hub and the adapters each as its own role, as in production.
            let database = databaseURL ?? world.databaseURL
            environment["CASEHUB_DATABASE_URL"] = database
            environment["CASEHUB_HUB_DATABASE_URL"] = PostgresConfiguration.connectionString(database, user: DatabaseRole.hub.rawValue)
            environment["CASEHUB_ADAPTER_DATABASE_URL"] = PostgresConfiguration.connectionString(database, user: DatabaseRole.adapter.rawValue)
            environment["CASEHUB_TOPIC_PREFIX"] = world.prefix
            if let kafkaBrokers { environment["CASEHUB_KAFKA_BROKERS"] = kafkaBrokers }
            environment.merge(extra) { _, new in new }
            process.environment = environment
            process.standardOutput = FileHandle.nullDevice
            if let logFile {
                FileManager.default.createFile(atPath: logFile.path, contents: nil)
                process.standardError = try FileHandle(forWritingTo: logFile)
            }
            try process.run()
        }

        /// `GET /readyz`: the status and the body's checks (nil when it does not answer).
        func readiness() async -> (status: Int, body: JSONValue)? {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(httpPort)/readyz")!)
            request.timeoutInterval = 10
            guard let (data, response) = try? await URLSession.shared.data(for: request) else { return nil }
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONValue.parse(Array(data))) ?? .null)
        }

        var log: String { logFile.flatMap { try? String(contentsOf: $0, encoding: .utf8) } ?? "" }

        func kill() {
            Foundation.kill(process.processIdentifier, SIGKILL)
            while process.isRunning { usleep(10_000) }
        }

        /// SIGTERM, then SIGKILL if it has not exited within 30 s (reported as a failure).
        func stop() {
            if process.isRunning { process.terminate() }
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(100_000) }
            if process.isRunning {
                Issue.record("casehub \(command[0]) did not shut down within 30 s of SIGTERM")
                kill()
            }
        }
    }

    // MARK: load

    /// `cases` referral cases, each opened then linked `linksPerCase` times,
    /// all by zz-epb; signed; in per-case order.
    func makeEvents(_ world: World, cases: Int, linksPerCase: Int) throws -> [CloudEvent] {
        var events: [CloudEvent] = []
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        for step in 0...linksPerCase {
            for index in 0..<cases {
                let caseID = "zz-epb:\(world.prefix)-\(index)"
                let data: JSONValue = step == 0
                    ? ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": .string("案件\(index)")]
                    : ["linkedCaseId": .string("linked-\(index)-\(step)"), "relation": "same-act"]
                let event = CloudEvent(
                    source: "zz-epb",
                    type: step == 0 ? "casehub.referral.submitted.v1" : "casehub.case.linked.v1",
                    time: start.addingTimeInterval(Double(step)), subject: caseID, data: data)
                events.append(try EventSignature.sign(event, with: world.key))
            }
        }
        return events
    }

    /// Produces in chunks of `chunkSize`, pausing `pause` between chunks (to spread a load over time).
    func produce(_ events: [CloudEvent], _ world: World, brokers: String = TestEnvironment.kafkaBrokers,
                 chunkSize: Int = 2_000, pause: Duration = .zero) async throws {
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(
            connection: KafkaConfiguration(bootstrapServers: [brokers])), logger: logger)
        for chunk in stride(from: 0, to: events.count, by: chunkSize) {
            if chunk > 0 && pause > .zero { try await Task.sleep(for: pause) }
            let messages = events[chunk..<min(chunk + chunkSize, events.count)].map { event in
                KafkaOutgoingMessage(topic: world.topics.from("zz-epb"), key: event.subject, value: event.binaryValue,
                                     headers: event.binaryHeaders.map { KafkaHeader(key: $0.name, string: $0.value) })
            }
            let results = try await producer.sendBatch(messages)
            #expect(results.allSatisfy { (try? $0.get()) != nil })
        }
        await producer.shutdown()
    }

    func count(_ world: World, _ sql: PostgresQuery) async throws -> Int {
        try await world.database.query(sql)[0].decode(0, as: Int.self)
    }

    /// Waits (bounded) until the hub has claimed `expected` event ids.
    func waitForApplied(_ world: World, _ expected: Int, timeout: Duration = .seconds(300)) async throws {
        let applied = await eventually(timeout: timeout, every: .milliseconds(250)) {
            (try? await count(world, "SELECT count(*) FROM inbox")) ?? 0 >= expected
        }
        let got = try await count(world, "SELECT count(*) FROM inbox")
        #expect(applied, "only \(got) of \(expected) applied")
    }

    /// Exactly once, in order, delivered.
    func verify(_ world: World, events: [CloudEvent], cases: Int, linksPerCase: Int) async throws {
        #expect(try await count(world, "SELECT count(*) FROM inbox") == events.count)
        #expect(try await count(world, "SELECT count(*) FROM case_events WHERE outcome = 'accepted'") == events.count)
        #expect(try await count(world, "SELECT count(*) FROM (SELECT event_id FROM case_events GROUP BY event_id HAVING count(*) > 1) d") == 0)
        #expect(try await count(world, "SELECT count(*) FROM rejections") == 0)
        #expect(try await count(world, "SELECT count(*) FROM cases") == cases)
        #expect(try await count(world, "SELECT count(*) FROM cases WHERE version <> \(linksPerCase + 1)") == 0)
        // Per-case order: each case's links in the order they were produced.
        let disordered = try await world.database.query("""
            SELECT id FROM cases
            WHERE (SELECT array_agg(l.value->>'caseID' ORDER BY l.ordinality)
                   FROM jsonb_array_elements(state->'links') WITH ORDINALITY AS l(value, ordinality))
               <> (SELECT array_agg('linked-' || substring(id from '[0-9]+$') || '-' || s ORDER BY s) FROM generate_series(1, \(linksPerCase)) s)
            """)
        #expect(disordered.isEmpty, "\(disordered.count) case(s) out of order")
        // Deliveries: to the procuratorate, a receipt to the bureau, a change record; all published.
        #expect(try await count(world, "SELECT count(*) FROM outbox") == events.count * 3)
        let drained = await eventually(timeout: .seconds(120 + events.count / 200)) {
            (try? await HubStore(client: world.database).outboxBacklog().count) == 0
        }
        #expect(drained, "outbox not drained")
        #expect(try await AuditVerifier(client: world.database).verifyAll().isIntact)
    }

    // MARK: tests

    @Test func twoHubsShareTenThousandEventsExactlyOnceInOrder() async throws {
        let world = try await makeWorld()
        let (cases, links) = (500, 19)
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        #expect(events.count == 10_000)
        let first = try CaseHubProcess(world)
        let second = try CaseHubProcess(world)
        defer { first.stop(); second.stop() }
        let started = ContinuousClock.now
        try await produce(events, world)
        try await waitForApplied(world, events.count)
        print("two hubs applied \(events.count) events in \(ContinuousClock.now - started)")
        try await verify(world, events: events, cases: cases, linksPerCase: links)
        await world.database.shutdown()
    }

    @Test func aHubKilledMidRunLosesAndDuplicatesNothing() async throws {
        let world = try await makeWorld()
        let (cases, links) = (200, 19)
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        var hub = try CaseHubProcess(world)
        try await produce(events, world)
        // Kill it while it works through the backlog, twice.
        for threshold in [800, 2_000] {
            _ = await eventually(timeout: .seconds(120), every: .milliseconds(20)) {
                (try? await count(world, "SELECT count(*) FROM inbox")) ?? 0 >= threshold
            }
            hub.kill()
            hub = try CaseHubProcess(world)
        }
        defer { hub.stop() }
        try await waitForApplied(world, events.count)
        try await verify(world, events: events, cases: cases, linksPerCase: links)
        await world.database.shutdown()
    }

    /// Two hubs share the outbox shards; one is SIGKILLed while it holds
    /// half of them. Its shards move to the other when its leases run out,
    /// and the receiver's adapter stores every delivery once, in order per case.
    @Test func aKilledHubsOutboxShardsMoveAndTheReceiverGetsEverythingOnceInOrder() async throws {
        let world = try await makeWorld()
        let (cases, links) = (200, 9)
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        let relays = ["CASEHUB_RELAY_LEASE_MS": "2000"]
        let doomed = try CaseHubProcess(world, environment: relays)
        let survivor = try CaseHubProcess(world, environment: relays)
        let receiver = try CaseHubProcess(world, command: ["adapter", "--agency", "zz-procuratorate"])
        defer { survivor.stop(); receiver.stop() }
        let store = HubStore(client: world.database)
        func holderProcesses() async -> Set<String> {
            // A relay's name is host:pid:instance/worker.
            Set(((try? await store.outboxShardHolders()) ?? [:]).values.map { String($0.split(separator: ":")[1]) })
        }
        let (doomedPID, survivorPID) = (String(doomed.process.processIdentifier), String(survivor.process.processIdentifier))
        let shared = await eventually(timeout: .seconds(60), every: .milliseconds(200)) { await holderProcesses() == [doomedPID, survivorPID] }
        let holdersBefore = await holderProcesses()
        #expect(shared, "both hubs' relays should hold shards, not \(holdersBefore)")

        try await produce(events, world)
        _ = await eventually(timeout: .seconds(120), every: .milliseconds(20)) {
            (try? await count(world, "SELECT count(*) FROM inbox")) ?? 0 >= events.count / 3
        }
        let heldAtKill = ((try? await store.outboxShardHolders()) ?? [:]).values.filter { $0.split(separator: ":")[1] == doomedPID }.count
        let killed = ContinuousClock.now
        doomed.kill()
        let moved = await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            let onlySurvivor = await holderProcesses() == [survivorPID]
            let held = (try? await store.outboxShardHolders().count) ?? 0
            return onlySurvivor && held == AuditShards.defaultCount
        }
        let movedAfter = ContinuousClock.now - killed
        let holdersAfter = await holderProcesses()
        #expect(heldAtKill > 0, "the killed hub held no shard")
        #expect(moved, "the killed hub's shards did not move: \(holdersAfter)")
        try await waitForApplied(world, events.count)
        try await verify(world, events: events, cases: cases, linksPerCase: links)

        // The receiver: every referral and link once, each case's in order.
        let everything = await eventually(timeout: .seconds(120), every: .milliseconds(250)) {
            (try? await count(world, "SELECT count(*) FROM deliveries WHERE agency = 'zz-procuratorate'")) == events.count
        }
        let stored = try await count(world, "SELECT count(*) FROM deliveries WHERE agency = 'zz-procuratorate'")
        #expect(everything, "deliveries: \(stored) of \(events.count)")
        #expect(try await count(world, "SELECT count(*) - count(DISTINCT event_id) FROM deliveries WHERE agency = 'zz-procuratorate'") == 0)
        let disordered = try await count(world, """
            SELECT count(*) FROM (
                SELECT case_id, array_agg(event->'data'->>'linkedCaseId' ORDER BY cursor) FILTER (WHERE type = 'casehub.case.linked.v1') AS got
                FROM deliveries WHERE agency = 'zz-procuratorate' GROUP BY case_id) AS per_case
            WHERE got <> (SELECT array_agg('linked-' || substring(case_id from '[0-9]+$') || '-' || s ORDER BY s) FROM generate_series(1, \(links)) s)
            """)
        #expect(disordered == 0, "\(disordered) case(s) delivered out of order")
        print("fault: hub SIGKILLed holding \(heldAtKill) of \(AuditShards.defaultCount) outbox shards; they moved within \(movedAfter); "
              + "\(events.count) events delivered once each, in order per case")
        await world.database.shutdown()
    }

    @Test func theHubWaitsOutADatabaseRestart() async throws {
        let world = try await makeWorld()
        let (cases, links) = (150, 19)
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        let hub = try CaseHubProcess(world, httpPort: freeLoopbackPort())
        defer { hub.stop() }
        try await produce(events, world)
        _ = await eventually(timeout: .seconds(120), every: .milliseconds(20)) {
            (try? await count(world, "SELECT count(*) FROM inbox")) ?? 0 >= 500
        }
        let atRestart = try await count(world, "SELECT count(*) FROM inbox")
        // Down 5 s between stop and start. system(3) waits for the script itself;
        // the restarted server runs on as a daemon.
        let script = PackagePaths.root.appendingPathComponent("Deploy/local/stack.sh").path
        let restarted = ContinuousClock.now
        let restart = Task.detached { system("'\(script)' restart-db test 5 >/dev/null 2>&1") }
        let reported = await eventually(timeout: .seconds(8), every: .milliseconds(200)) {
            let answer = await hub.readiness()
            return answer?.status == 503 && answer?.body["database"]?.stringValue == "unreachable"
        }
        #expect(await restart.value == 0)
        #expect(reported, "readiness did not report the database restart")
        let recovery = atRestart < events.count ? await secondsUntilProgress(world, beyond: atRestart, since: restarted) : 0
        try await waitForApplied(world, events.count)
        let tally = try await tally(world, sent: events.count)
        #expect(hub.process.isRunning, "the hub exited instead of waiting the database out")
        print("fault: database restarted (5 s down): \(events.count) sent, \(tally.applied) applied, \(tally.duplicates) duplicates, "
              + String(format: "%d lost; progress %.1f s after the stop began; readiness reported it: %@",
                       tally.losses, recovery, reported ? "yes" : "no"))
        try await verify(world, events: events, cases: cases, linksPerCase: links)
        await world.database.shutdown()
    }

    @Test func duplicatesAndAReplayedTopicAreAbsorbed() async throws {
        let world = try await makeWorld()
        let (cases, links) = (100, 9)
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        let hub = try CaseHubProcess(world)
        defer { hub.stop() }
        // Every event twice in a row, then the whole stream once more.
        try await produce(events.flatMap { [$0, $0] }, world)
        try await waitForApplied(world, events.count)
        try await produce(events, world)
        // Give the hub time to read the replay; nothing may change.
        let replayed = await eventually(timeout: .seconds(60)) {
            let admin = try? KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: [TestEnvironment.kafkaBrokers]), logger: logger)
            let committed = (try? await admin?.committedOffsets(group: "\(world.prefix)-hub")) ?? [:]
            return committed.values.reduce(0, +) >= Int64(events.count * 3)
        }
        #expect(replayed, "the hub did not consume the replayed topic")
        try await verify(world, events: events, cases: cases, linksPerCase: links)
        await world.database.shutdown()
    }
}
