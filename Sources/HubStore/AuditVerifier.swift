import CaseModel
import Foundation
import Postgres

/// Checks the hash chain of the audit trail (`case_events`): any changed,
/// deleted, inserted or reordered row breaks it at that row.
public struct AuditVerifier: Sendable {
    public struct Break: Sendable, Hashable, CustomStringConvertible {
        public var seq: Int64
        public var caseID: String?
        public var problem: String
        public var description: String { "seq \(seq)\(caseID.map { " (case \($0))" } ?? ""): \(problem)" }
    }

    public struct Report: Sendable {
        public var checked: Int
        public var breaks: [Break]
        public var isIntact: Bool { breaks.isEmpty }
    }

    let client: PostgresClient
    let pageSize: Int

    public init(client: PostgresClient, pageSize: Int = 5_000) {
        self.client = client
        self.pageSize = pageSize
    }

    /// Verifies the whole chain in seq order. `progress` is told how many rows
    /// of the total have been checked.
    public func verifyAll(maxBreaks: Int = 50, progress: (Int, Int) -> Void = { _, _ in }) async throws -> Report {
        let head = try await client.query("SELECT seq, hash FROM audit_head")
        let headSeq: Int64 = try head[0].decode("seq")
        let headHash: [UInt8] = try head[0].decode("hash")
        let total = Int(try await client.query("SELECT count(*) AS n FROM case_events")[0].decode("n", as: Int64.self))
        var breaks: [Break] = []
        var expectedSeq: Int64 = 1
        var previousHash = AuditChain.genesis
        var checked = 0
        var after: Int64 = 0
        while breaks.count < maxBreaks {
            let rows = try await client.query("\(unsafeSQL: Self.select) WHERE seq > \(after) ORDER BY seq LIMIT \(pageSize)")
            if rows.isEmpty { break }
            for row in rows {
                let (entry, prev, hash) = try Self.entry(from: row)
                after = entry.seq
                checked += 1
                if entry.seq != expectedSeq {
                    breaks.append(Break(seq: expectedSeq, caseID: nil,
                                        problem: entry.seq > expectedSeq ? "rows \(expectedSeq)…\(entry.seq - 1) are missing (deleted)" : "seq out of order"))
                }
                if prev != previousHash {
                    breaks.append(Break(seq: entry.seq, caseID: entry.caseID,
                                        problem: "does not follow the row before it (a row was deleted, inserted or reordered here)"))
                }
                if AuditChain.hash(previous: prev, entry: entry) != hash {
                    breaks.append(Break(seq: entry.seq, caseID: entry.caseID, problem: "content changed after it was recorded"))
                }
                previousHash = hash
                expectedSeq = entry.seq + 1
            }
            progress(checked, total)
        }
        if breaks.count < maxBreaks, expectedSeq - 1 != headSeq || previousHash != headHash {
            breaks.append(Break(seq: expectedSeq - 1, caseID: nil,
                                problem: "the chain ends at seq \(expectedSeq - 1) but its head records seq \(headSeq): rows at the end were deleted or added"))
        }
        return Report(checked: checked, breaks: Array(breaks.prefix(maxBreaks)))
    }

    /// Verifies one case's rows: each row's own hash, its link to the row
    /// before it (of whatever case), and that the case's version matches the
    /// number of its accepted events (so deleting them is seen too).
    public func verifyCase(_ caseID: String) async throws -> Report {
        // Each row with the hash of the row before it in the whole trail (any case), in one query.
        let rows = try await client.query("""
            SELECT e.seq, e.event_id, e.case_id, e.outcome, e.type, e.source, e.occurred_at, e.recorded_at, e.case_version,
                   e.body, e.prev_hash, e.hash, before.hash AS before_hash
            FROM case_events e LEFT JOIN case_events before ON before.seq = e.seq - 1
            WHERE e.case_id = \(caseID) ORDER BY e.seq
            """)
        var breaks: [Break] = []
        var accepted = 0
        for row in rows {
            let (entry, prev, hash) = try Self.entry(from: row)
            if entry.outcome == .accepted { accepted += 1 }
            if AuditChain.hash(previous: prev, entry: entry) != hash {
                breaks.append(Break(seq: entry.seq, caseID: caseID, problem: "content changed after it was recorded"))
            }
            let expectedPrev = entry.seq == 1 ? AuditChain.genesis : try row.decode("before_hash", as: [UInt8]?.self)
            if expectedPrev != prev {
                breaks.append(Break(seq: entry.seq, caseID: caseID, problem: "does not follow the row before it (a row was deleted, inserted or reordered here)"))
            }
        }
        let version = try await client.query("SELECT version FROM cases WHERE id = \(caseID)")
        if let version = try version.first?.decode("version", as: Int.self), version != accepted {
            breaks.append(Break(seq: 0, caseID: caseID, problem: "the case is at version \(version) but the trail holds \(accepted) accepted events"))
        }
        return Report(checked: rows.count, breaks: breaks)
    }

    static let select = """
        SELECT seq, event_id, case_id, outcome, type, source, occurred_at, recorded_at, case_version, body, prev_hash, hash
        FROM case_events
        """

    static func entry(from row: PostgresRow) throws -> (AuditEntry, [UInt8], [UInt8]) {
        let outcomeText: String = try row.decode("outcome")
        let entry = AuditEntry(
            seq: try row.decode("seq"), eventID: try row.decode("event_id", as: String?.self),
            caseID: try row.decode("case_id", as: String?.self),
            outcome: AuditEntry.Outcome(rawValue: outcomeText) ?? .admin,
            type: try row.decode("type"), source: try row.decode("source"),
            occurredAt: try row.decode("occurred_at"), recordedAt: try row.decode("recorded_at"),
            caseVersion: try row.decode("case_version", as: Int64?.self),
            body: try JSONValue.parse(Array(try row.decode("body", as: String.self).utf8)))
        return (entry, try row.decode("prev_hash"), try row.decode("hash"))
    }
}
