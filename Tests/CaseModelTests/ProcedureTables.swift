import CaseModel
import Foundation
import TestSupport

/// The procedure tables of docs/case-model.md, written from what
/// ``ProcedureExplorer`` found: steps, deadlines and refusals per procedure.
enum ProcedureTables {
    static let beginMarker = "<!-- generated: procedure tables (`make docs` rewrites them from the code; do not edit by hand) -->"
    static let endMarker = "<!-- end of generated tables -->"
    static let document = PackagePaths.root.appendingPathComponent("docs/case-model.md")

    /// The text between the markers, or nil when the document lacks them.
    static func generatedSection(of document: String) -> Substring? {
        guard let begin = document.range(of: beginMarker), let end = document.range(of: endMarker, range: begin.upperBound..<document.endIndex) else {
            return nil
        }
        return document[begin.upperBound..<end.lowerBound]
    }

    static func replacingGeneratedSection(of document: String, with tables: String) -> String? {
        guard let section = generatedSection(of: document) else { return nil }
        return document.replacingCharacters(in: section.startIndex..<section.endIndex, with: "\n" + tables)
    }

    static func markdown(_ procedures: [ProcedureFindings]) -> String {
        var shared = Set(procedures.first?.refusals.keys.map { $0 } ?? [])
        for findings in procedures.dropFirst() { shared.formIntersection(findings.refusals.keys) }
        var out = "### Refusals in every procedure\n\n"
        out += "Any procedure below may refuse an event with these codes; its own list adds the codes particular to it.\n\n"
        out += "| code | 含义 | meaning |\n|---|---|---|\n"
        for code in shared.sorted() {
            out += "| `\(code)` | \(meaning(of: code).zh) | \(meaning(of: code).en) |\n"
        }
        for findings in procedures {
            out += "\n" + section(findings, shared: shared)
        }
        let given = procedures.reduce(into: Set<RefusalCode>()) { $0.formUnion($1.refusals.keys) }
        out += "\n### Other refusal codes\n\n"
        out += "No event sent to a case above met these: the hub gives them before an event reaches its case "
        out += "(envelope, signature, schema, sender, storage), or for checks that no path above reaches.\n\n"
        out += "| code | 含义 | meaning |\n|---|---|---|\n"
        for code in RefusalCode.catalogued.keys.filter({ !given.contains($0) }).sorted() {
            out += "| `\(code)` | \(meaning(of: code).zh) | \(meaning(of: code).en) |\n"
        }
        return out
    }

    private static func section(_ findings: ProcedureFindings, shared: Set<RefusalCode>) -> String {
        let name = findings.procedure.rawValue
        var out = "### Procedure `\(name)`\n\n"
        out += "Opens with \(short(findings.opening)), or with `case.opened` naming `\(name)` followed by \(short(findings.opening)). "
        out += "Statuses, in the order first reached: \(findings.statuses.map { "`\($0)`" }.joined(separator: ", ")); "
        out += "closed: \(findings.statuses.filter(findings.closedStatuses.contains).map { "`\($0)`" }.joined(separator: ", ")).\n\n"

        out += "| from | event | to | sent by | deadlines |\n|---|---|---|---|---|\n"
        for (from, row) in rows(findings) {
            let clocks = [("starts", Set(row.started)), ("meets", row.met), ("stops", row.stopped),
                          ("pauses", row.suspended), ("resumes", row.resumed)]
                .filter { !$0.1.isEmpty }
                .map { "\($0.0) \($0.1.sorted().map(Self.clock).joined(separator: ", "))" }
            out += "| \(self.from(from, in: findings)) | \(title(row.event)) | \(row.to.map { "`\($0)`" } ?? "(unchanged)") "
            out += "| \(row.senders) | \(clocks.joined(separator: "; ")) |\n"
        }

        out += "\n"
        if findings.deadlineOrder.isEmpty {
            out += "No statutory deadline runs in this procedure.\n"
        } else {
            out += "| rule | 名称 · name | legal basis | period | started by | met by | stopped by | obliged | warning and overdue notices to |\n"
            out += "|---|---|---|---|---|---|---|---|---|\n"
            for id in findings.deadlineOrder {
                let rule = DeadlineRules.standard[id]
                let details = findings.deadlines[id]!
                let period = "\(length(rule.period))\(rule.confirmed ? "" : " (configurable)"); warning \(length(rule.warningLead)) before"
                out += "| `\(id)` | \(cell(rule.nameZH)) · \(cell(rule.nameEN)) | \(cell(rule.legalBasis)) | \(period) "
                var stoppedBy = events(details.stoppedBy)
                if !details.suspendedBy.isEmpty {
                    stoppedBy += "; paused by \(events(details.suspendedBy)), resumed by \(events(details.resumedBy))"
                }
                let served = details.servedTo.isEmpty ? "" : "; runs from its delivery to the \(details.servedTo.sorted().joined(separator: " or "))"
                out += "| \(events(details.startedBy))\(served) | \(events(details.metBy)) | \(stoppedBy) "
                let notified = ["obliged", "holder"] + (rule.alsoNotified ?? []).map { spaced($0.rawValue) }
                out += "| \(details.obliged.sorted().map(spaced).joined(separator: ", ")) | \(notified.joined(separator: ", ")) |\n"
            }
        }

        let particular = findings.refusals.keys.filter { !shared.contains($0) }.sorted()
        out += "\n"
        if particular.isEmpty {
            out += "No refusal particular to this procedure.\n"
        } else {
            out += "| refusal particular to `\(name)` | 含义 | meaning | refused events |\n|---|---|---|---|\n"
            for code in particular {
                out += "| `\(code)` | \(meaning(of: code).zh) | \(meaning(of: code).en) | \(events(findings.refusals[code]!)) |\n"
            }
        }
        return out
    }

    /// A table row: one event leading from one or more statuses to one
    /// status (nil: the status does not change), with the same clocks and senders.
    private struct Row: Hashable {
        let event: EventType
        let to: String?
        let started: [String]
        let met: Set<String>
        let stopped: Set<String>
        let suspended: Set<String>
        let resumed: Set<String>
        let senders: String
    }

    /// Steps that differ only in the status they start from share a row;
    /// where every party could take them, the row says so ("any party").
    /// Steps that move the case come first, then those that keep its status,
    /// each in the order the explorer first took them.
    private static func rows(_ findings: ProcedureFindings) -> [(from: [String?], row: Row)] {
        func row(_ step: ProcedureFindings.Step, senders: String) -> Row {
            let details = findings.details[step]!
            return Row(event: step.event, to: step.from == step.to ? nil : step.to, started: step.started,
                       met: details.met, stopped: details.stopped, suspended: details.suspended, resumed: details.resumed,
                       senders: senders)
        }
        // Steps alike but for their senders: if every party could take each
        // of them, and a case had several parties, any party may send it.
        var alike: [Row: [ProcedureFindings.Step]] = [:]
        for step in findings.steps {
            alike[row(step, senders: ""), default: []].append(step)
        }
        var order: [Row] = []
        var froms: [Row: [String?]] = [:]
        for step in findings.steps {
            let steps = alike[row(step, senders: "")]!
            let anyParty = steps.allSatisfy { step in
                let details = findings.details[step]!
                return details.everyParty && details.senders.allSatisfy { if case .party = $0 { true } else { false } }
            } && steps.contains { findings.details[$0]!.mostParties > 1 }
            let row = row(step, senders: anyParty ? "any party" : senders(findings.details[step]!))
            if froms[row] == nil { order.append(row) }
            froms[row, default: []].append(step.from)
        }
        let ordered = order.filter { $0.to != nil } + order.filter { $0.to == nil }
        return ordered.map { (froms[$0]!, $0) }
    }

    private static func from(_ statuses: [String?], in findings: ProcedureFindings) -> String {
        let reached = Set(findings.statuses)
        let open = reached.subtracting(findings.closedStatuses)
        let named = statuses.compactMap { $0 }
        let noCase = statuses.contains(nil) ? ["(no case)"] : []
        if named.count > 1 && Set(named) == reached { return (noCase + ["any status"]).joined(separator: ", ") }
        if named.count > 1 && Set(named) == open { return (noCase + ["any open status"]).joined(separator: ", ") }
        return (noCase + named.map { "`\($0)`" }).joined(separator: ", ")
    }

    /// Roles first, in the order of ``PartyRole``; then the kinds of agency
    /// that open the case ("any agency": every kind) or join it.
    private static func senders(_ details: ProcedureFindings.StepDetails) -> String {
        var roles: [[PartyRole]] = []
        var openers: Set<AgencyKind> = []
        var joining: Set<AgencyKind> = []
        for sender in details.senders {
            switch sender {
            case .party(let held): roles.append(held)
            case .opener(let kind): openers.insert(kind)
            case .joining(let kind): joining.insert(kind)
            }
        }
        func order(_ held: [PartyRole]) -> [Int] { held.map { PartyRole.allCases.firstIndex(of: $0)! } }
        func kinds(_ kinds: Set<AgencyKind>) -> [String] {
            kinds.count == AgencyKind.allCases.count ? ["any agency"] : AgencyKind.allCases.filter(kinds.contains).map(\.rawValue)
        }
        var parts = roles.sorted { order($0).lexicographicallyPrecedes(order($1)) }.map { $0.map(\.rawValue).joined(separator: " and ") }
        parts += kinds(openers)
        parts += kinds(joining).map { "\($0) (joins)" }
        return parts.map(spaced).joined(separator: ", ")
    }

    /// A clock in a row: `rule`, or `rule` on the event's delivery to a party (``ProcedureExplorer`` writes it `rule@role`).
    private static func clock(_ entry: String) -> String {
        let parts = entry.split(separator: "@", maxSplits: 1)
        return parts.count == 2 ? "`\(parts[0])` on delivery to the \(spaced(String(parts[1])))" : "`\(entry)`"
    }

    private static func spaced(_ label: String) -> String {
        label.replacingOccurrences(of: "-", with: " ")
    }

    /// `crime.transferred` for `casehub.crime.transferred.v1`.
    static func short(_ type: EventType) -> String {
        "`\(type.rawValue.split(separator: ".").dropFirst().dropLast().joined(separator: "."))`"
    }

    private static func title(_ type: EventType) -> String {
        guard let entry = EventCatalogue.standard[type] else { return short(type) }
        return "\(short(type)) \(cell(entry.titleZH)) · \(cell(entry.titleEN))"
    }

    private static func events(_ types: Set<EventType>) -> String {
        types.isEmpty ? "—" : types.sorted().map(short).joined(separator: ", ")
    }

    private static func meaning(of code: RefusalCode) -> (zh: String, en: String) {
        let meaning = RefusalCode.catalogued[code] ?? ("—", "—")
        return (cell(meaning.zh), cell(meaning.en))
    }

    /// Text from the code as a table cell: no tag, no column break.
    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "|", with: "\\|")
    }

    private static func length(_ period: StatutoryPeriod) -> String {
        let unit = switch period.unit {
        case .hours: "hour"
        case .days: "day"
        case .workingDays: "working day"
        case .months: "month"
        case .seconds: "second"
        }
        return "\(period.amount) \(unit)\(period.amount == 1 ? "" : "s")"
    }
}
