import CaseModel
import Foundation
import Postgres
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Glibc
import HubStore
import Testing
import TestSupport

/// A `casehub adapter` process SIGKILLed at random moments while its agency's
/// system holds deliveries it has read but not acknowledged. The agency's
/// system reads its inbox as a real one would: onward from its own cursor,
/// acknowledging a page only once the next has arrived, and after any failure
/// again from the last acknowledged point. Afterwards every event routed to
/// the agency is in its inbox once, was read, and none came back after its
/// acknowledgement.
extension HubFaultTests {
    /// `make fault`: 20,000 events and 5 kills; `make test`: 800 and 2.
    static var adapterFaultEvents: Int { max(400, faultEvents / 5) }
    static var adapterFaultKills: Int { max(2, faultKills / 4) }

    /// The agency's own system: the adapter's inbox over HTTP with its token.
    struct AgencySystem {
        let port: Int
        let token: String
        let agency = "zz-procuratorate"

        struct Delivery {
            let cursor: Int64
            let eventID: String
        }

        /// A page of the inbox after `cursor` (after the acknowledged point when nil);
        /// nil when the adapter does not answer.
        func inbox(after cursor: Int64?, limit: Int = 200) async -> [Delivery]? {
            let after = cursor.map { "&after=\($0)" } ?? ""
            guard let (status, body) = await send("GET", "/v1/agencies/\(agency)/inbox?limit=\(limit)&wait=1\(after)", nil),
                  status == 200 else { return nil }
            return (body["events"]?.arrayValue ?? []).compactMap { entry in
                guard let cursor = entry["cursor"]?.integerValue, let id = entry["event"]?["id"]?.stringValue else { return nil }
                return Delivery(cursor: cursor, eventID: id)
            }
        }

        /// Acknowledges everything up to `cursor`; false when the adapter does not answer.
        func acknowledge(through cursor: Int64) async -> Bool {
            await send("POST", "/v1/agencies/\(agency)/inbox/ack", ["cursor": .integer(cursor)])?.status == 200
        }

        private func send(_ method: String, _ path: String, _ body: JSONValue?) async -> (status: Int, body: JSONValue)? {
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            request.httpMethod = method
            request.timeoutInterval = 10
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            if let body {
                request.httpBody = Data(body.canonicalBytes)
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            }
            guard let (data, response) = try? await URLSession.shared.data(for: request) else { return nil }
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, (try? JSONValue.parse(Array(data))) ?? .null)
        }
    }

    /// What the agency's system saw.
    struct AgencyLedger {
        /// Times each event id was read (more than once only when read again before its acknowledgement).
        var reads: [String: Int] = [:]
        var acknowledged: Set<String> = []
        /// Reads of an event after it was acknowledged: must stay 0.
        var readAfterAcknowledgement = 0
        /// Read, not yet acknowledged, oldest first.
        var held: [AgencySystem.Delivery] = []

        var readAgain: Int { reads.values.reduce(0) { $0 + $1 - 1 } }

        mutating func read(_ page: [AgencySystem.Delivery]) {
            for delivery in page {
                reads[delivery.eventID, default: 0] += 1
                if acknowledged.contains(delivery.eventID) { readAfterAcknowledgement += 1 }
            }
            held += page
        }

        /// Everything held up to `cursor` is now acknowledged.
        mutating func acknowledged(through cursor: Int64) {
            acknowledged.formUnion(held.filter { $0.cursor <= cursor }.map(\.eventID))
            held.removeAll { $0.cursor <= cursor }
        }
    }

    @Test func anAdapterKilledHoldingUnacknowledgedDeliveriesLosesAndDuplicatesNothing() async throws {
        let world = try await makeWorld()
        let links = 19
        let cases = max(1, Self.adapterFaultEvents / (links + 1))
        let events = try makeEvents(world, cases: cases, linksPerCase: links)
        let kills = Self.adapterFaultKills
        let agency = AgencySystem(port: freeLoopbackPort(),
                                  token: try await AgencyTokenStore(client: world.database).issue(agency: "zz-procuratorate", label: "fault", by: .administrator("test")))
        let keyDirectory = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("adapter-keys")).path
        defer { try? FileManager.default.removeItem(atPath: keyDirectory) }
        func startAdapter() throws -> CaseHubProcess {
            try CaseHubProcess(world, command: ["adapter", "--agency", agency.agency, "--key-dir", keyDirectory], httpPort: agency.port)
        }
        let hub = try CaseHubProcess(world)
        defer { hub.stop() }
        var adapter = try startAdapter()
        defer { adapter.stop() }
        // Events trickle in over 8 s per kill, so that each kill finds the
        // adapter's consumer mid-stream as well as deliveries held unacknowledged.
        let slot = Duration.seconds(8)
        let chunks = kills * 16
        let started = ContinuousClock.now
        let production = Task { try await produce(events, world, chunkSize: max(1, events.count / chunks), pause: slot / 16) }

        var rng = SystemRandomNumberGenerator()
        // A random moment in the second half of each kill's slot.
        let killTimes = (0..<kills).map { started + slot * $0 + slot / 2 + .milliseconds(Int.random(in: 0..<4_000, using: &rng)) }
        var ledger = AgencyLedger()
        var readCursor: Int64?
        var (heldAtKills, httpBack, consumingAgain) = ([Int](), [Double](), [Double]())
        var killed: (at: ContinuousClock.Instant, stored: Int)?
        let deadline = ContinuousClock.now + .seconds(240 + events.count / 50)
        while ledger.acknowledged.count < events.count, ContinuousClock.now < deadline {
            if heldAtKills.count < kills, ContinuousClock.now >= killTimes[heldAtKills.count], !ledger.held.isEmpty {
                adapter.kill()
                heldAtKills.append(ledger.held.count)
                killed = (ContinuousClock.now, try await count(world, "SELECT count(*) FROM deliveries"))
                adapter = try startAdapter()
            }
            guard let page = await agency.inbox(after: readCursor) else {
                // No answer: read again from the last acknowledged point once it is back.
                readCursor = nil
                ledger.held.removeAll()
                try await Task.sleep(for: .milliseconds(100))
                continue
            }
            if let since = killed {
                httpBack.append(seconds(since: since.at))
                // Deliveries flowing again: the restarted consumer rejoined and stores.
                if since.stored < events.count {
                    _ = await eventually(timeout: .seconds(120), every: .milliseconds(50)) {
                        (try? await count(world, "SELECT count(*) FROM deliveries")) ?? 0 > since.stored
                    }
                    consumingAgain.append(seconds(since: since.at))
                }
                killed = nil
            }
            guard let last = page.last else { continue }
            ledger.read(page)
            readCursor = last.cursor
            // Acknowledge all but the newest page: there are always deliveries held unacknowledged.
            if let through = ledger.held.dropLast(page.count).last?.cursor, await agency.acknowledge(through: through) {
                ledger.acknowledged(through: through)
            }
            // The tail: nothing more will come, so acknowledge what is held.
            if ledger.acknowledged.count + ledger.held.count == events.count, await agency.acknowledge(through: last.cursor) {
                ledger.acknowledged(through: last.cursor)
            }
        }

        try await production.value
        let sentIDs = Set(events.map(\.id.description))
        let stored = try await count(world, "SELECT count(*) FROM deliveries WHERE agency = 'zz-procuratorate'")
        let storedOnce = try await count(world, "SELECT count(DISTINCT event_id) FROM deliveries WHERE agency = 'zz-procuratorate'")
        let lost = sentIDs.subtracting(ledger.reads.keys).count
        print("fault: adapter SIGKILL ×\(heldAtKills.count) holding unacknowledged deliveries (\(heldAtKills.map(String.init).joined(separator: ", ")) held): "
              + "\(events.count) sent, \(storedOnce) delivered, \(ledger.acknowledged.count) acknowledged, \(stored - storedOnce) duplicates, "
              + "\(lost) lost; \(ledger.readAgain) read again before acknowledgement, \(ledger.readAfterAcknowledgement) after; "
              + "HTTP back after restart \(Self.format(httpBack)), consuming again (\(consumingAgain.count) kill(s) with events still to come) \(Self.format(consumingAgain)); "
              + "\(ContinuousClock.now - started) in all")
        #expect(heldAtKills.count == kills)
        #expect(heldAtKills.allSatisfy { $0 > 0 }, "each kill came while deliveries were held unacknowledged")
        #expect(stored == events.count && storedOnce == events.count, "each event in the inbox exactly once")
        #expect(lost == 0, "\(lost) event(s) never reached the agency")
        #expect(Set(ledger.reads.keys) == sentIDs)
        #expect(ledger.acknowledged == sentIDs)
        #expect(ledger.readAfterAcknowledgement == 0, "an acknowledged event came back")
        #expect(try await count(world, "SELECT count(*) FROM deliveries WHERE acked_at IS NULL") == 0)
        // The inbox keeps each case's events in the order they were produced.
        let disordered = try await count(world, """
            SELECT count(*) FROM (
                SELECT (event->>'time')::timestamptz AS at,
                       lag((event->>'time')::timestamptz) OVER (PARTITION BY case_id ORDER BY cursor) AS before
                FROM deliveries WHERE agency = 'zz-procuratorate') d
            WHERE at < before
            """)
        #expect(disordered == 0, "\(disordered) delivery(ies) out of per-case order")
        await world.database.shutdown()
    }
}
