import Adapters
import CaseHubServer
import CaseModel
import Crypto
import Foundation
import HubStore
import Kafka
import Logging
import Postgres
import Testing
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Hostile input against a running stack: generated and mutated requests to
/// the adapters' HTTP API, and records produced straight to an agency's
/// Kafka topic. `make test` runs a few hundred; `make fuzz` at least 10,000
/// (`CASEHUB_FUZZ_INPUTS`, seed `CASEHUB_FUZZ_SEED`). The inputs under
/// `Tests/Fuzz/regressions` run first, every time.
///
/// Holds when: no 5xx and no dropped connection; every refusal is a problem
/// body with a reason; every event the adapter took is judged by the hub with
/// a receipt to its sender; every record on the Kafka topic is refused with a
/// reason and a receipt; and the refused records changed no case, deadline
/// or submission.
@Suite(.serialized)
struct FuzzTests {
    static var inputCount: Int { ProcessInfo.processInfo.environment["CASEHUB_FUZZ_INPUTS"].flatMap(Int.init) ?? 400 }
    static var seed: UInt64 {
        ProcessInfo.processInfo.environment["CASEHUB_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970)
    }
    static let regressions = PackagePaths.root.appendingPathComponent("Tests/Fuzz/regressions")

    /// Where failing inputs are written, to be replayed or kept as regressions.
    static let failures = PackagePaths.root.appendingPathComponent(".local/fuzz-failures")

    struct Outcome: Sendable {
        var request: HostileRequest
        var status: Int
        var problem: String?
        var acceptedIDs: [String]
    }

    /// The regression inputs: `<agency>.<events|records>.<anything>` files.
    static func regressionInputs() throws -> [HostileRequest] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: regressions.path) else { return [] }
        return try names.sorted().compactMap { name in
            let parts = name.split(separator: ".")
            guard parts.count >= 3, ["events", "records"].contains(parts[1]) else { return nil }
            return HostileRequest(label: "regression \(name)", agency: String(parts[0]), path: String(parts[1]),
                                  body: Array(try Data(contentsOf: regressions.appendingPathComponent(name))),
                                  contentType: name.hasSuffix(".xml") ? "application/xml" : "application/json")
        }
    }

    static func send(_ input: HostileRequest, port: Int, token: String) async -> Outcome {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/v1/agencies/\(input.agency)/\(input.path)")!)
        request.httpMethod = "POST"
        request.timeoutInterval = 60
        request.httpBody = Data(input.body)
        request.setValue(input.contentType, forHTTPHeaderField: "Content-Type")
        request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        guard let (data, response) = try? await URLSession.shared.data(for: request), let http = response as? HTTPURLResponse else {
            return Outcome(request: input, status: 0, problem: "no answer (connection dropped?)", acceptedIDs: [])
        }
        let body = try? JSONValue.parse(Array(data))
        var problem: String?
        var ids: [String] = []
        switch http.statusCode {
        case 200, 202:
            ids = (body?["accepted"]?.arrayValue ?? body?["events"]?.arrayValue?.compactMap { $0["id"] } ?? []).compactMap(\.stringValue)
        case 400, 409, 413, 422:
            // A refusal must say why, as a problem body.
            if http.value(forHTTPHeaderField: "Content-Type") != "application/problem+json" || (body?["detail"]?.stringValue ?? "").isEmpty
                || (body?["title"]?.stringValue ?? "").isEmpty {
                problem = "refusal without a problem body: \(String(decoding: data.prefix(300), as: UTF8.self))"
            }
        default:
            problem = "status \(http.statusCode): \(String(decoding: data.prefix(300), as: UTF8.self))"
        }
        return Outcome(request: input, status: http.statusCode, problem: problem, acceptedIDs: ids)
    }

    static func keep(_ failures: [Outcome], seed: UInt64) -> String {
        try? FileManager.default.createDirectory(at: Self.failures, withIntermediateDirectories: true)
        for (index, failure) in failures.prefix(50).enumerated() {
            let name = "\(failure.request.agency).\(failure.request.path).seed\(seed)-\(index)\(failure.request.contentType.contains("xml") ? ".xml" : ".json")"
            FileManager.default.createFile(atPath: Self.failures.appendingPathComponent(name).path, contents: Data(failure.request.body))
        }
        return Self.failures.path
    }

    @Test func hostileInputIsRefusedWithReasonsAndChangesNothing() async throws {
        let seed = Self.seed
        let agencies: [AgencyID] = HostileInputs.agencies.map { AgencyID(rawValue: $0.id)! } + ["zz-cdi"]
        try await withRunningStack(agencies: agencies, configure: { configuration in
            // The fuzzer sends as fast as it can: the rate limit has its own test.
            configuration.adapterLimits.requestsPerSecond = 1_000_000
            configuration.adapterLimits.burst = 1_000_000
        }) { stack, http, database in
            try await Self.fuzz(seed: seed, stack: stack, http: http, database: database)
        }
    }

    static func fuzz(seed: UInt64, stack: CaseHubStack, http: HTTPClient, database: PostgresClient) async throws {
        do {
            let started = ContinuousClock.now

            // HTTP: the regressions, then generated inputs, eight at a time.
            var generator = try HostileInputs(seed: seed)
            let inputs = try Self.regressionInputs() + (0..<Self.inputCount).map { _ in generator.next() }
            let outcomes = await withTaskGroup(of: [Outcome].self) { group in
                let workers = 8
                for worker in 0..<workers {
                    let mine = stride(from: worker, to: inputs.count, by: workers).map { inputs[$0] }
                    group.addTask {
                        var results: [Outcome] = []
                        for input in mine { results.append(await Self.send(input, port: http.port, token: http.tokens[input.agency]!)) }
                        return results
                    }
                }
                var all: [Outcome] = []
                for await results in group { all += results }
                return all
            }
            let failed = outcomes.filter { $0.problem != nil }
            #expect(failed.isEmpty, """
                \(failed.count) input(s) mishandled (seed \(seed); kept in \(Self.keep(failed, seed: seed))): \
                \(failed.prefix(5).map { "\($0.request.label) → \($0.problem!)" })
                """)
            let (health, _) = try await http.send("GET", "/healthz", nil, bearer: .none)
            #expect(health == 200)

            // What the adapters took, the hub judges: each id accepted or refused, with a receipt to its sender.
            let taken = Set(outcomes.flatMap(\.acceptedIDs))
            let takenIDs = Array(taken)
            #expect(try await Self.count(database, "SELECT count(*) FROM adapter_submissions") == taken.count)
            let judged = await eventually(timeout: .seconds(180), every: .milliseconds(500)) {
                let done = (try? await Self.count(database, "SELECT count(DISTINCT event_id) FROM case_events WHERE event_id = ANY(\(PostgresArray(takenIDs.map { Optional($0) }))::text[])")) ?? 0
                return done == taken.count
            }
            #expect(judged, "the hub did not judge every event the adapters took")
            let receipted = await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
                let receipts = (try? await Self.count(database, """
                    SELECT count(DISTINCT event->'data'->>'eventId') FROM deliveries
                    WHERE type = 'casehub.hub.receipt.v1' AND event->'data'->>'eventId' = ANY(\(PostgresArray(takenIDs.map { Optional($0) }))::text[])
                    """)) ?? 0
                return receipts == taken.count
            }
            #expect(receipted, "an event the adapters took got no receipt")
            #expect(try await Self.count(database, "SELECT count(*) FROM rejections WHERE reason = '' OR code = ''") == 0)
            // Whatever the adapters refused could be stored (over the recording budget it is only counted).
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "fuzz", by: .administrator("test"))
            var scrape = URLRequest(url: URL(string: "http://127.0.0.1:\(http.port)/metrics")!)
            scrape.setValue("Bearer \(admin)", forHTTPHeaderField: "Authorization")
            let exposition = String(decoding: try await URLSession.shared.data(for: scrape).0, as: UTF8.self)
            #expect(exposition.contains(#"casehub_adapter_refusals_unrecorded_total{reason="database"} 0"#))
            let httpSeconds = Double((ContinuousClock.now - started).components.seconds)

            // Kafka: hostile records straight onto zz-cdi's topic, after a snapshot of the canonical state.
            let snapshot = try await Self.canonicalState(database)
            let kafka = try await Self.produceHostileRecords(count: max(50, Self.inputCount / 5), seed: seed, stack: stack, taken: Array(taken))
            let topic = stack.configuration.topics.from("zz-cdi")
            let refused = await eventually(timeout: .seconds(180), every: .milliseconds(500)) {
                ((try? await Self.count(database, "SELECT count(*) FROM rejections WHERE topic = \(topic)")) ?? 0) >= kafka
            }
            #expect(refused, "not every record on \(topic) was refused")
            #expect(try await Self.count(database, "SELECT count(*) FROM rejections WHERE topic = \(topic)") == kafka)
            let receipts = await eventually(timeout: .seconds(60), every: .milliseconds(500)) {
                let n = (try? await Self.count(database, """
                    SELECT count(*) FROM deliveries WHERE agency = 'zz-cdi' AND type = 'casehub.hub.receipt.v1' AND event->'data'->>'outcome' = 'refused'
                    """)) ?? 0
                return n >= kafka
            }
            #expect(receipts, "a refused record got no receipt")
            #expect(try await Self.count(database, "SELECT count(*) FROM case_events WHERE source = 'zz-cdi' AND outcome = 'accepted'") == 0)
            let after = try await Self.canonicalState(database)
            #expect(after == snapshot, "refused records changed the canonical state")

            // The audit chain holds whatever came in.
            let report = try await AuditVerifier(client: database).verifyAll()
            #expect(report.isIntact, "\(report.breaks.prefix(5))")

            let statuses = Dictionary(grouping: outcomes, by: \.status).mapValues(\.count).sorted { $0.key < $1.key }
            let hubRefusals = try await Self.count(database, "SELECT count(*) FROM rejections WHERE stage = 'hub'")
            print("""
                fuzz: seed \(seed); \(outcomes.count) HTTP inputs in \(Int(httpSeconds)) s \
                (statuses \(statuses.map { "\($0.key): \($0.value)" }.joined(separator: ", "))); \
                \(taken.count) events taken by the adapters and judged by the hub; \(kafka) hostile Kafka records, all refused with receipts; \
                hub refusals \(hubRefusals); \(failed.count) mishandled; audit chain \(report.isIntact ? "intact" : "BROKEN") \
                (\(report.checked) entries); \(Int(Double((ContinuousClock.now - started).components.seconds))) s in all
                """)
        }
    }

    static func count(_ database: PostgresClient, _ sql: PostgresQuery) async throws -> Int {
        try await database.query(sql)[0].decode(0, as: Int.self)
    }

    /// Cases, deadlines and submissions: what a refused record must not change.
    static func canonicalState(_ database: PostgresClient) async throws -> String {
        let rows = try await database.query("""
            SELECT (SELECT coalesce(string_agg(id || ':' || version || ':' || md5(state::text), ',' ORDER BY id), '') FROM cases) || '|' ||
                   (SELECT coalesce(string_agg(case_id || ':' || rule_id || ':' || state || ':' || due_at, ',' ORDER BY case_id, rule_id), '') FROM deadlines) || '|' ||
                   (SELECT count(*) FROM adapter_submissions)::text
            """)
        return try rows[0].decode(0, as: String.self)
    }

    /// Records produced to `from.zz-cdi` that must each be refused: unreadable
    /// bytes, broken headers, unsigned, forged or foreign-key signatures,
    /// another agency's event, reused ids, unknown types, schema violations,
    /// out-of-turn events, all but the first kinds signed with zz-cdi's real key.
    static func produceHostileRecords(count: Int, seed: UInt64, stack: CaseHubStack, taken: [String]) async throws -> Int {
        var rng = SplitMix64(seed: seed ^ 0x5EED)
        let logger = Logger(label: "test.fuzz")
        let keys = try await SigningKeys.load(agencies: ["zz-cdi", "zz-epb"], directory: URL(fileURLWithPath: stack.configuration.keyDirectory!),
                                              store: AgencyKeyStore(client: stack.adapterDatabase))
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: stack.configuration.kafka), logger: logger)
        let topic = stack.configuration.topics.from("zz-cdi")
        let stranger = Curve25519.Signing.PrivateKey()
        func event(_ type: EventType = "casehub.accountability.clue-referred.v1", source: AgencyID = "zz-cdi", id: EventID = EventID(),
                   data: JSONValue = ["summary": "x"]) -> CloudEvent {
            CloudEvent(id: id, source: source, type: type, time: Date(), subject: "fuzz-kafka-\(Int.random(in: 0..<20, using: &rng))", data: data)
        }
        func message(_ event: CloudEvent) -> KafkaOutgoingMessage {
            KafkaOutgoingMessage(topic: topic, key: event.subject, value: event.binaryValue,
                                 headers: event.binaryHeaders.map { KafkaHeader(key: $0.name, string: $0.value) })
        }
        var messages: [KafkaOutgoingMessage] = []
        for index in 0..<count {
            switch index % 10 {
            case 0:
                let garbage = (0..<Int.random(in: 0...500, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                messages.append(KafkaOutgoingMessage(topic: topic, key: Optional<String>.none, value: garbage, headers: []))
            case 1:
                var broken = message(try keys.sign(event()))
                broken.headers = broken.headers.filter { $0.key != "ce_type" } + [KafkaHeader(key: "ce_time", string: "9999-99-99")]
                messages.append(broken)
            case 2: messages.append(message(event()))
            case 3: messages.append(message(try EventSignature.sign(event(), with: stranger)))
            case 4: messages.append(message(try keys.sign(event(source: "zz-epb"))))
            case 5:
                let reused = taken.isEmpty ? EventID() : EventID(taken[Int.random(in: 0..<taken.count, using: &rng)]) ?? EventID()
                messages.append(message(try keys.sign(event(id: reused, data: ["summary": "另一内容"]))))
            case 6: messages.append(message(try keys.sign(event("casehub.nothing.here.v1"))))
            case 7: messages.append(message(try keys.sign(event(data: ["summary": .integer(5), "extra": .array([])]))))
            case 8: messages.append(message(try keys.sign(event("casehub.accountability.feedback-sent.v1", data: ["x": "y\u{0}z"]))))
            default:
                var forged = try keys.sign(event(data: ["summary": .string(HostileInputs.injections[index % HostileInputs.injections.count])]))
                forged.data = ["summary": "changed after signing"]
                messages.append(message(forged))
            }
        }
        let results = try await producer.sendBatch(messages)
        await producer.shutdown()
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        return messages.count
    }
}
