import CaseModel
import Foundation
import Glibc
import HubStore
import Postgres
import Testing
import TestSupport

/// The faults of the reliability suite, each measured: the hub killed at
/// random moments, the broker paused, the connections to the database and
/// to the broker cut. Each prints a `fault:` line with events sent, applied,
/// duplicates, losses and recovery times (docs/reliability.md collects them).
///
/// Sizes: `CASEHUB_FAULT_EVENTS` and `CASEHUB_FAULT_KILLS` (`make fault`
/// sets 100,000 and 20; `make test` runs the small defaults).
extension HubFaultTests {
    static var faultEvents: Int { ProcessInfo.processInfo.environment["CASEHUB_FAULT_EVENTS"].flatMap(Int.init) ?? 4_000 }
    static var faultKills: Int { ProcessInfo.processInfo.environment["CASEHUB_FAULT_KILLS"].flatMap(Int.init) ?? 3 }

    /// Applied, duplicated and lost, from the audit trail.
    func tally(_ world: World, sent: Int) async throws -> (applied: Int, duplicates: Int, losses: Int) {
        let applied = try await count(world, "SELECT count(DISTINCT event_id) FROM case_events WHERE outcome = 'accepted'")
        let duplicates = try await count(world, """
            SELECT coalesce(sum(n - 1), 0)::bigint FROM (SELECT count(*) AS n FROM case_events WHERE outcome = 'accepted' GROUP BY event_id) d
            """)
        return (applied, duplicates, sent - applied)
    }

    /// Seconds from `since` until the hub has applied more than `before` events.
    func secondsUntilProgress(_ world: World, beyond before: Int, since: ContinuousClock.Instant) async -> Double {
        _ = await eventually(timeout: .seconds(120), every: .milliseconds(50)) {
            (try? await count(world, "SELECT count(*) FROM inbox")) ?? 0 > before
        }
        return seconds(since: since)
    }

    func seconds(since instant: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - instant
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    static func format(_ seconds: [Double]) -> String {
        guard !seconds.isEmpty else { return "-" }
        let sorted = seconds.sorted()
        return String(format: "median %.1f s, max %.1f s", sorted[sorted.count / 2], sorted.last!)
    }

    /// Once the hub is under way, cuts `proxy` for `seconds`; then checks that
    /// readiness reported `dependency: unreachable` while it lasted, that every
    /// event is applied, that the hub kept running and that its log says what
    /// failed (the lines `mentions` picks); prints the `fault:` line.
    func cutConnection(_ name: String, through proxy: TCPProxy, for seconds: Int, dependency: String, readinessWithin window: Duration,
                       world: World, hub: CaseHubProcess, sent: Int, mentions: (Substring) -> Bool) async throws {
        _ = await eventually(timeout: .seconds(120), every: .milliseconds(20)) {
            (try? await count(world, "SELECT count(*) FROM inbox")) ?? 0 >= 500
        }
        proxy.cut(for: TimeInterval(seconds))
        let cut = ContinuousClock.now
        let reported = await eventually(timeout: window, every: .milliseconds(200)) {
            let answer = await hub.readiness()
            return answer?.status == 503 && answer?.body[dependency]?.stringValue == "unreachable"
        }
        #expect(reported, "readiness did not report the \(name)")
        let atCut = try await count(world, "SELECT count(*) FROM inbox")
        let recovery = atCut < sent ? await secondsUntilProgress(world, beyond: atCut, since: cut) : 0
        try await waitForApplied(world, sent)
        let tally = try await tally(world, sent: sent)
        #expect(hub.process.isRunning, "the hub exited instead of recovering")
        // Clear log lines: the hub said what failed.
        let log = hub.log
        let lines = log.split(separator: "\n").filter(mentions)
        #expect(!lines.isEmpty, "the hub's log does not mention the \(name):\n\(log.suffix(2_000))")
        print("fault: \(name) \(seconds) s: \(sent) sent, \(tally.applied) applied, \(tally.duplicates) duplicates, \(tally.losses) lost; "
              + String(format: "progress %.1f s after the cut began; readiness reported it: %@; %d log line(s) about it",
                       recovery, reported ? "yes" : "no", lines.count))
    }

    @Test func aHubKilledAtRandomMomentsAppliesEveryEventOnce() async throws {
        let world = try await makeWorld()
        let links = 19
        let cases = max(1, Self.faultEvents / (links + 1))
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        let kills = Self.faultKills
        var rng = SystemRandomNumberGenerator()
        let started = ContinuousClock.now
        try await produce(events, world)
        var hub = try CaseHubProcess(world)
        var recoveries: [Double] = []
        for kill in 1...kills {
            // A random moment within this kill's share of the run.
            let share = events.count / (kills + 1)
            let threshold = kill * share + Int.random(in: 0..<max(1, share / 2), using: &rng)
            _ = await eventually(timeout: .seconds(300), every: .milliseconds(10)) {
                (try? await count(world, "SELECT count(*) FROM inbox")) ?? 0 >= threshold
            }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0..<300, using: &rng)))
            hub.kill()
            let atKill = try await count(world, "SELECT count(*) FROM inbox")
            let restarted = ContinuousClock.now
            hub = try CaseHubProcess(world)
            if atKill < events.count { recoveries.append(await secondsUntilProgress(world, beyond: atKill, since: restarted)) }
        }
        defer { hub.stop() }
        try await waitForApplied(world, events.count, timeout: .seconds(300 + events.count / 100))
        let tally = try await tally(world, sent: events.count)
        print("fault: SIGKILL ×\(kills): \(events.count) sent, \(tally.applied) applied, \(tally.duplicates) duplicates, \(tally.losses) lost; "
              + "recovery after restart \(Self.format(recoveries)); \(ContinuousClock.now - started) in all")
        try await verify(world, events: events, cases: cases, linksPerCase: links)
        await world.database.shutdown()
    }

    @Test func theBrokerPausedForTenSecondsIsWaitedOut() async throws {
        let world = try await makeWorld()
        let (cases, links) = (150, 19)
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        let hub = try CaseHubProcess(world, httpPort: freeLoopbackPort())
        defer { hub.stop() }
        try await produce(events, world)
        _ = await eventually(timeout: .seconds(120), every: .milliseconds(20)) {
            (try? await count(world, "SELECT count(*) FROM inbox")) ?? 0 >= 500
        }
        let pidFile = PackagePaths.root.appendingPathComponent(".local/test/tansu.pid")
        let broker = try #require(Int32(try String(contentsOf: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(broker, SIGSTOP)
        let paused = ContinuousClock.now
        // While it lasts, readiness says the broker is unreachable.
        let reported = await eventually(timeout: .seconds(8), every: .milliseconds(250)) {
            let answer = await hub.readiness()
            return answer?.status == 503 && answer?.body["broker"] == "unreachable"
        }
        try await Task.sleep(until: paused + .seconds(10))
        kill(broker, SIGCONT)
        let resumed = ContinuousClock.now
        #expect(reported, "readiness did not report the paused broker")
        let atResume = try await count(world, "SELECT count(*) FROM inbox")
        let recovery = atResume < events.count ? await secondsUntilProgress(world, beyond: atResume, since: resumed) : 0
        let ready = await eventually(timeout: .seconds(30), every: .milliseconds(250)) { await hub.readiness()?.status == 200 }
        #expect(ready, "readiness did not recover")
        try await waitForApplied(world, events.count)
        let tally = try await tally(world, sent: events.count)
        print("fault: broker SIGSTOP 10 s: \(events.count) sent, \(tally.applied) applied, \(tally.duplicates) duplicates, \(tally.losses) lost; "
              + String(format: "progress %.1f s after SIGCONT; readiness reported the outage: %@", recovery, reported ? "yes" : "no"))
        try await verify(world, events: events, cases: cases, linksPerCase: links)
        await world.database.shutdown()
    }

    @Test func theDatabaseConnectionCutIsRecoveredFrom() async throws {
        let world = try await makeWorld()
        let (cases, links) = (150, 19)
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        // libpq keywords: the last `port=` wins, so the hub's goes through the proxy.
        let databasePort = try #require(world.databaseURL.split(separator: " ").last { $0.hasPrefix("port=") }.flatMap { Int($0.dropFirst(5)) })
        let proxy = try TCPProxy(targetPort: databasePort)
        defer { proxy.stop() }
        let proxied = world.databaseURL + " port=\(proxy.port)"
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("hub") + ".log")
        let hub = try CaseHubProcess(world, httpPort: freeLoopbackPort(), databaseURL: proxied, logFile: logFile)
        defer { hub.stop() }
        try await produce(events, world)
        try await cutConnection("database connection cut", through: proxy, for: 5, dependency: "database", readinessWithin: .seconds(5),
                                world: world, hub: hub, sent: events.count) { $0.lowercased().contains("connection") }
        try await verify(world, events: events, cases: cases, linksPerCase: links)
        await world.database.shutdown()
    }
}

extension HubFaultTests {
    /// A broker of the test's own whose advertised address is a proxy, so that
    /// every connection to it (bootstrap and partition leaders) can be cut.
    final class ProxiedBroker: @unchecked Sendable {
        let process: Process
        let proxy: TCPProxy
        var address: String { "127.0.0.1:\(proxy.port)" }

        init() async throws {
            let port = freeLoopbackPort()
            proxy = try TCPProxy(targetPort: port)
            process = try launchOwnBroker(listenPort: port, advertisedPort: proxy.port)
            // Up once it accepts connections.
            let up = await eventually(timeout: .seconds(30), every: .milliseconds(100)) { loopbackAccepts(port: port) }
            #expect(up, "the test's own broker did not start")
        }

        /// SIGKILL: its storage is memory, and it may have inherited a mask that blocks SIGTERM and SIGINT.
        func stop() {
            proxy.stop()
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    @Test func theBrokerConnectionCutIsRecoveredFrom() async throws {
        let world = try await makeWorld()
        let broker = try await ProxiedBroker()
        defer { broker.stop() }
        try await createTopics(world, brokers: broker.address)
        let (cases, links) = (150, 19)
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("hub") + ".log")
        let hub = try CaseHubProcess(world, httpPort: freeLoopbackPort(), kafkaBrokers: broker.address, logFile: logFile)
        defer { hub.stop() }
        try await produce(events, world, brokers: broker.address)
        // 10 s: a readiness probe during the cut waits out its 5 s metadata timeout before it answers 503.
        try await cutConnection("broker connection cut", through: broker.proxy, for: 10, dependency: "broker", readinessWithin: .seconds(9),
                                world: world, hub: hub, sent: events.count) {
            $0.contains("brokers are down") || $0.contains("transport failure") || $0.contains("Disconnected")
        }
        try await verify(world, events: events, cases: cases, linksPerCase: links)
        await world.database.shutdown()
    }
}
