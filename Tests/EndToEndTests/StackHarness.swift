import CaseHubServer
import CaseModel
import Foundation
import Hub
import HubStore
import Kafka
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Starts a whole stack (hub and the agencies' adapters) on its own database,
/// topics and a free port; stops it after `body`.
/// What a second run of a stack keeps from the first (a restart).
struct StackIdentity {
    var databaseURL: String
    var topics: TopicNames
    var keyDirectory: String

    static func fresh() async throws -> StackIdentity {
        StackIdentity(databaseURL: try await TestDatabase.create("e2e"), topics: TopicNames(prefix: TestEnvironment.uniqueName("e2e")),
                      keyDirectory: FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("keys")).path)
    }
}

/// When the hub of a test stack receives what the test posts.
enum Arrivals {
    /// By the system clock, as in production.
    case now
    /// At each posted event's declared `time`: the hub's clock is set to it
    /// as the event is posted, so that a test can walk a case through months
    /// of its procedure. Each event must be judged before the next is posted.
    case atDeclaredTimes
}

/// The hub's clock in a test stack that plays arrivals at declared times.
final class PlayedClock: Sendable {
    private let played = Mutex<Date?>(nil)

    func set(_ instant: Date) { played.withLock { $0 = instant } }

    var hubClock: HubClock { HubClock { [self] in played.withLock { $0 } ?? Date() } }

    /// Sets the clock to the latest declared time of the events in an
    /// agency's submission (one event or a batch), if it is one.
    func arrive(_ method: String, _ path: String, _ body: [UInt8]?) {
        guard method == "POST", path.hasSuffix("/events"),
              let body, let json = try? JSONValue.parse(body) else { return }
        let events = json.arrayValue ?? json["events"]?.arrayValue ?? [json]
        if let latest = events.compactMap({ $0["time"]?.stringValue.flatMap(RFC3339.parse) }).max() { set(latest) }
    }
}

func withRunningStack(
    agencies: [AgencyID] = ["zz-epb", "zz-procuratorate", "zz-court"],
    arrivals: Arrivals = .now,
    identity: StackIdentity? = nil,
    logger given: Logger? = nil,
    configure: (inout CaseHubConfiguration) -> Void = { _ in },
    _ body: (CaseHubStack, HTTPClient, PostgresClient) async throws -> Void
) async throws {
    var logger = given ?? Logger(label: "test.e2e")
    if given == nil { logger.logLevel = .notice }
    let identity = if let identity { identity } else { try await StackIdentity.fresh() }
    var configuration = CaseHubConfiguration(
        kafka: KafkaConfiguration(bootstrapServers: [TestEnvironment.kafkaBrokers], clientID: "casehub-e2e"),
        databaseURL: identity.databaseURL,
        topics: identity.topics)
    configuration.registry = AgencyRegistry(agencies.map { AgencyRegistry.zhuzhou[$0]! })
    configuration.roles = .init(hub: true, adapters: agencies)
    configuration.httpPort = 0
    configuration.topicPartitions = 2
    configuration.consumerSessionTimeoutMilliseconds = 6_000
    configuration.kafka.properties["heartbeat.interval.ms"] = "500"
    configuration.hub.deadlineScanMilliseconds = 200
    configuration.keyDirectory = identity.keyDirectory
    // As `casehub run` does: the stack approves the keys its adapters made (audited as `local-stack`).
    configuration.approveOwnSigningKeys = true
    let playedClock = arrivals == .atDeclaredTimes ? PlayedClock() : nil
    if let playedClock { configuration.hub.clock = playedClock.hubClock }
    configure(&configuration)

    // As `casehub run` does: the administrator's part as the database's owner
    // (migrate, topics), then the hub and the adapters each as its own role.
    try await CaseHubStack.prepareLocally(&configuration, logger: logger)
    try await CaseHubStack.checkReady(configuration, logger: logger)
    let port = AsyncStream.makeStream(of: Int.self)
    let stack = try await CaseHubStack(configuration: configuration, logger: logger, handleSignals: false) { port.continuation.yield($0) }
    let running = Task { try await stack.run() }
    var ports = port.stream.makeAsyncIterator()
    let boundPort = try #require(await ports.next())
    let database = PostgresClient(configuration: PostgresConfiguration(connectionString: configuration.databaseURL), logger: logger)
    do {
        var tokens: [String: String] = [:]
        for agency in agencies { tokens[agency.rawValue] = try await AgencyTokenStore(client: database).issue(agency: agency, label: "test", by: .administrator("test")) }
        try await body(stack, HTTPClient(port: boundPort, tokens: tokens, playedClock: playedClock), database)
    } catch {
        await stack.shutdown()
        _ = try? await running.value
        await database.shutdown()
        throw error
    }
    await stack.shutdown()
    try await running.value
    await database.shutdown()
}

/// A minimal JSON-over-HTTP client for the tests. By default it sends the
/// bearer token of the agency named in the path, as that agency's system would.
struct HTTPClient {
    let port: Int
    /// Each agency's token, by agency id.
    let tokens: [String: String]
    /// Set when the stack plays arrivals at declared times (``Arrivals``).
    var playedClock: PlayedClock? = nil

    enum Bearer {
        /// The token of the agency in the path.
        case automatic
        case none
        case token(String)
    }

    func send(_ method: String, _ path: String, _ body: JSONValue?, bearer: Bearer = .automatic) async throws -> (Int, JSONValue) {
        try await sendRaw(method, path, body?.canonicalBytes, bearer: bearer)
    }

    func sendRaw(_ method: String, _ path: String, _ body: [UInt8]?, bearer: Bearer = .automatic,
                 contentType: String = "application/json") async throws -> (Int, JSONValue) {
        playedClock?.arrive(method, path, body)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        request.timeoutInterval = 60
        switch bearer {
        case .automatic:
            let parts = path.split(separator: "/")
            if parts.count > 2, parts[0] == "v1", parts[1] == "agencies", let token = tokens[String(parts[2])] {
                request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            }
        case .none:
            break
        case .token(let token):
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        }
        if let body {
            request.httpBody = Data(body)
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        return (status, data.isEmpty ? .null : try JSONValue.parse(Array(data)))
    }

    /// In a stack that plays arrivals (``Arrivals/atDeclaredTimes``): time
    /// passes until `instant` (now, by default) with nothing arriving, so
    /// that the hub's deadline scheduler sees the clocks run out.
    func letTimePass(until instant: Date = Date()) {
        playedClock?.set(instant)
    }

    /// Long-polls an agency's inbox until it holds `count` events (from the start).
    func waitForInbox(_ agency: String, count: Int, timeout: Duration = .seconds(60)) async throws -> [JSONValue] {
        let deadline = ContinuousClock.now + timeout
        var events: [JSONValue] = []
        while ContinuousClock.now < deadline {
            let (status, body) = try await send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=100&wait=2", nil)
            guard status == 200 else { throw HTTPFailure(status: status, body: body) }
            events = body["events"]?.arrayValue ?? []
            if events.count >= count { break }
        }
        return events
    }

    /// Waits until an agency's inbox holds an event of this type for this case:
    /// an agency answers only what has reached it (events of two agencies
    /// travel on two topics, with no order between them).
    func waitForEvent(_ agency: String, type: String, subject: String, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let (_, body) = try await send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000&wait=1", nil)
            if (body["events"]?.arrayValue ?? []).contains(where: {
                $0["event"]?["type"]?.stringValue == type && $0["event"]?["subject"]?.stringValue == subject
            }) { return }
        }
        throw HTTPFailure(status: 0, body: .string("\(type) for \(subject) never reached \(agency)"))
    }

    struct HTTPFailure: Error { let status: Int; let body: JSONValue }
}
