import CaseModel
import Foundation
import Hub
import HubStore
import Logging
import Postgres

/// `--only replay`: how fast `casehub replay` rebuilds case state from an
/// audit trail of `events` accepted entries. The trail is written straight
/// into a fresh, migrated database with COPY (no hub, no Kafka): valid event
/// sequences per case, interleaved across cases as the hub records them,
/// bodies in the hub's canonical form with a signature-sized attribute. The
/// chain hashes are placeholders: replay does not read them.
struct ReplayBench {
    let settings: BenchSettings
    let events: Int
    let eventsPerCase: Int
    let logger: Logger

    struct Result {
        var replayed: Rate
        var cases: Int
    }

    func run() async throws -> Result {
        let name = "bench_replay_\(settings.runID)"
        let databaseURL = try await settings.createDatabase(name)
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: databaseURL), logger: logger)
        do {
            try await Migrator(client: client, logger: logger).migrate()
            let built = ContinuousClock.now
            try await writeTrail(into: client)
            try await client.execute("ANALYZE case_events")
            print("  audit trail of \(events) accepted events written in \(String(format: "%.1f", (ContinuousClock.now - built).seconds)) s")

            let start = ContinuousClock.now
            let report = try await CaseReplayer(store: HubStore(client: client), registry: .zhuzhou).replay { done, total in
                if done == total || done % 100_000 < 2_000 {
                    print("  replaying \(done)/\(total) after \(String(format: "%.1f", (ContinuousClock.now - start).seconds)) s")
                }
            }
            let elapsed = ContinuousClock.now - start
            guard report.eventsReplayed == events, report.refusedOnReplay.isEmpty else {
                throw BenchError("replay read \(report.eventsReplayed) of \(events) events, refused \(report.refusedOnReplay.prefix(3))")
            }
            await client.shutdown()
            try await dropDatabase(name)
            return Result(replayed: Rate(count: report.eventsReplayed, elapsed: elapsed), cases: report.casesRebuilt)
        } catch {
            await client.shutdown()
            try? await dropDatabase(name)
            throw error
        }
    }

    /// COPY in chunks; each chunk's rows are made while the previous one loads.
    private func writeTrail(into client: PostgresClient) async throws {
        let cases = max(1, events / eventsPerCase)
        let chunk = 50_000
        let runID = settings.runID
        var pending: Task<[[(any PostgresEncodable)?]], Never>?
        for first in stride(from: 0, to: events, by: chunk) {
            let range = first..<min(first + chunk, events)
            let next = Task { Self.rows(range, cases: cases, runID: runID) }
            if let pending {
                let rows = await pending.value
                try await client.withConnection { try await $0.copy(into: "case_events", columns: Self.columns, rows: rows) }
            }
            pending = next
        }
        if let pending {
            let rows = await pending.value
            try await client.withConnection { try await $0.copy(into: "case_events", columns: Self.columns, rows: rows) }
        }
        try await client.execute("SELECT setval('case_events_seq', \(Int64(events + 1)), false)")
    }

    private static let columns = [
        "seq", "event_id", "case_id", "outcome", "type", "source", "occurred_at", "recorded_at", "case_version", "body", "prev_hash", "hash",
    ]

    /// Audit rows `range` (0-based positions in the trail). Position `n` is
    /// step `n / cases` of case `n % cases`: a referral first, then links,
    /// every other one to another bench case (so replay's cross-case effect
    /// runs). Bodies are filled into one canonical template per step: making
    /// each through `CloudEvent` took most of the time of building the trail.
    private static func rows(_ range: Range<Int>, cases: Int, runID: String) -> [[(any PostgresEncodable)?]] {
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        let placeholderHash = [UInt8](repeating: 0, count: 32)
        var templates: [Int: String] = [:]
        return range.map { position in
            let index = position % cases
            let step = position / cases
            let caseID = CaseIDNamespace.caseID("bench-\(runID)-\(index)", openedBy: Workload.sender)
            let occurred = start.addingTimeInterval(Double(step) * 60)
            if templates[step] == nil { templates[step] = template(step: step, at: occurred) }
            let id = EventID()
            let linked = step % 2 == 0 ? CaseIDNamespace.caseID("bench-\(runID)-\((index + step) % cases)", openedBy: Workload.sender) : "\(caseID)-link-\(step)"
            let body = templates[step]!
                .replacingOccurrences(of: Sentinel.id, with: id.description)
                .replacingOccurrences(of: Sentinel.subject, with: caseID)
                .replacingOccurrences(of: Sentinel.linked, with: linked)
                .replacingOccurrences(of: Sentinel.index, with: String(index))
            return [Int64(position + 1), id.description, caseID, "accepted", step == 0 ? EventType.referralSubmitted.rawValue : EventType.caseLinked.rawValue,
                    Workload.sender.rawValue, AuditEntry.storable(occurred), AuditEntry.storable(occurred.addingTimeInterval(1)), Int64(step + 1),
                    PostgresJSON(body), placeholderHash, placeholderHash]
        }
    }

    private enum Sentinel {
        static let id = "00000000-0000-4000-8000-00000000feed"
        static let subject = "@@subject@@"
        static let linked = "@@linked@@"
        static let index = "@@index@@"
    }

    /// One step's event in the hub's canonical audit form, with sentinels
    /// where each event differs.
    private static func template(step: Int, at occurred: Date) -> String {
        let data: JSONValue = step == 0
            ? ["receiver": .string(Workload.receiver.rawValue), "referralKind": "clue", "summary": .string("河道排污线索 \(Sentinel.index)")]
            : ["linkedCaseId": .string(Sentinel.linked), "relation": "same-act"]
        // Signature-sized, not a signature: replay does not verify them.
        let signature = String(repeating: "0", count: 16) + ":" + Data(count: 64).base64EncodedString()
        let event = CloudEvent(
            id: EventID(Sentinel.id)!, source: Workload.sender, type: step == 0 ? .referralSubmitted : .caseLinked,
            time: occurred, subject: Sentinel.subject, data: data, extensions: [EventSignature.attribute: signature])
        return String(decoding: event.structured.canonicalBytes, as: UTF8.self)
    }

    private func dropDatabase(_ name: String) async throws {
        let admin = PostgresClient(configuration: PostgresConfiguration(connectionString: settings.databaseURL), logger: logger)
        do {
            try await admin.withConnection { try await $0.executeScript(unsafeSQL: "DROP DATABASE IF EXISTS \(name)") }
            await admin.shutdown()
        } catch {
            await admin.shutdown()
            throw error
        }
    }
}
