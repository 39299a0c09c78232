public import CaseModel
public import Foundation
import Postgres

/// One statutory deadline of a case, as every view shows it: the
/// administrators' case detail and the agency's own case view give the same
/// shape (`Deadline` in Schemas/openapi.yaml).
public struct DeadlineRecord: Sendable, Hashable {
    public var rule: String
    public var obligedAgency: String
    public var legalBasis: String
    /// As stored: `running`, `met`, `stopped`, `suspended` or `awaiting-service`.
    public var storedState: String
    public var startedAt: Date
    public var warnAt: Date
    public var dueAt: Date
    public var closedAt: Date?
    public var warningSentAt: Date?
    public var overdueSentAt: Date?

    /// `running`, `met`, `met-late` (met at or after the due instant),
    /// `stopped`, `suspended` (paused while the court proceedings are) or
    /// `awaiting-service` (it runs from a receipt the hub has not yet recorded).
    public var state: String {
        guard storedState == StatutoryDeadline.State.met.rawValue, let closedAt else { return storedState }
        return StatutoryDeadline.isLate(rule: rule, closedAt: closedAt, dueAt: dueAt) ? StatutoryDeadline.Stage.metLate.rawValue : storedState
    }

    /// The last day to act (China date, inclusive), as the law writes it.
    public var dueDate: LocalDate { StatutoryDeadline.lastDay(dueAt: dueAt) }

    /// Where it stands at an instant: a running deadline is `running`,
    /// `warning` or `overdue`; a closed one keeps its ``state``.
    public func stage(at instant: Date) -> String {
        guard storedState == StatutoryDeadline.State.running.rawValue else { return state }
        if instant >= dueAt { return StatutoryDeadline.Stage.overdue.rawValue }
        if instant >= warnAt { return StatutoryDeadline.Stage.warning.rawValue }
        return StatutoryDeadline.Stage.running.rawValue
    }

    /// The columns ``init(row:)`` reads, from `deadlines`.
    static let columns = "rule_id, obliged_agency, legal_basis, state, started_at, warn_at, due_at, closed_at, warning_sent_at, overdue_sent_at"

    init(row: PostgresRow) throws {
        rule = try row.decode("rule_id")
        obligedAgency = try row.decode("obliged_agency")
        legalBasis = try row.decode("legal_basis")
        storedState = try row.decode("state")
        startedAt = try row.decode("started_at")
        warnAt = try row.decode("warn_at")
        dueAt = try row.decode("due_at")
        closedAt = try row.decode("closed_at", as: Date?.self)
        warningSentAt = try row.decode("warning_sent_at", as: Date?.self)
        overdueSentAt = try row.decode("overdue_sent_at", as: Date?.self)
    }

    /// The API form; names come from `rules` (a rule since renamed or removed
    /// keeps its id and legal basis, without names).
    public func json(asOf instant: Date, rules: DeadlineRules = .standard) -> JSONValue {
        func time(_ date: Date?) -> JSONValue { date.map { .string(RFC3339.formatMicroseconds($0)) } ?? .null }
        let known = rules.rules[rule]
        return .object([
            "rule": .string(rule),
            "nameZH": known.map { .string($0.nameZH) } ?? .null,
            "nameEN": known.map { .string($0.nameEN) } ?? .null,
            "obligedAgency": .string(obligedAgency), "legalBasis": .string(legalBasis),
            "state": .string(state), "stage": .string(stage(at: instant)),
            "startedAt": time(startedAt), "warnAt": time(warnAt), "dueAt": time(dueAt),
            "dueDate": .string(dueDate.description),
            "closedAt": time(closedAt), "warningSentAt": time(warningSentAt), "overdueSentAt": time(overdueSentAt),
        ])
    }
}
