import CaseModel
import Foundation

/// The need-to-know tables of docs/case-model.md, written from the rule as
/// published (`Schemas/disclosure.json`): per procedure, what each role
/// receives of each event and sees of the case; the hub's own topics.
/// ``ProcedureTablesTests`` checks and rewrites them with the procedure tables.
enum DisclosureTables {
    static let beginMarker = "<!-- generated: need-to-know tables (`make docs` rewrites them from Schemas/disclosure.json; do not edit by hand) -->"
    static let endMarker = "<!-- end of generated need-to-know tables -->"

    static func replacingGeneratedSection(of document: String, with tables: String) -> String? {
        guard let begin = document.range(of: beginMarker),
              let end = document.range(of: endMarker, range: begin.upperBound..<document.endIndex) else { return nil }
        return document.replacingCharacters(in: begin.upperBound..<end.lowerBound, with: "\n" + tables)
    }

    static func markdown(_ rule: JSONValue) -> String {
        var out = "### The hub's own topics\n\n"
        out += "| topic | carries | why |\n|---|---|---|\n"
        for feed in Disclosure.Feed.allCases {
            let entry = rule["feeds"]?[feed.rawValue]
            let carries = entry?["withhold"] == "personal" ? "every record, without the personal data below" : "every record, whole"
            out += "| `casehub.\(feed.rawValue)` | \(carries) | \(cell(entry?["why"]?.stringValue ?? "")) |\n"
        }
        out += "\n| event | personal data (left out of the hub's own topics) |\n|---|---|\n"
        for (type, pointers) in (rule["personal"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            out += "| \(title(type)) | \(fields(pointers)) |\n"
        }
        let notices = (rule["notices"]?.objectValue ?? [:]).keys.sorted().map { ProcedureTables.short(EventType(rawValue: $0)) }
        out += "\nThe hub's notices (\(notices.joined(separator: ", "))) go whole to the agencies the hub addresses them to: "
        out += "a receipt to the sender of the event, a deadline notice to the recipients its rule names (tables above).\n"
        for procedure in Procedure.allCases {
            guard let body = rule["procedures"]?[procedure.rawValue] else { continue }
            out += "\n" + section(procedure, body)
        }
        return out
    }

    private static func section(_ procedure: Procedure, _ body: JSONValue) -> String {
        let deliveries = body["deliveries"]?.objectValue ?? [:]
        let views = body["caseView"]?.objectValue ?? [:]
        var named = Set(views.keys)
        for entry in deliveries.values { named.formUnion((entry.objectValue ?? [:]).keys) }
        let roles = RecipientRole.allCases.filter { named.contains($0.rawValue) }
        var out = "### Need to know: `\(procedure.rawValue)`\n\n\(cell(body["note"]?.stringValue ?? ""))\n\n"
        out += "| event | " + roles.map { "to \(spaced($0.rawValue))" }.joined(separator: " | ") + " | why |\n"
        out += "|---|" + String(repeating: "---|", count: roles.count) + "---|\n"
        for (type, entry) in deliveries.sorted(by: { $0.key < $1.key }) {
            out += "| \(title(type)) | " + roles.map { fieldSet(entry[$0.rawValue]) }.joined(separator: " | ")
            out += " | \(cell(entry["why"]?.stringValue ?? "")) |\n"
        }
        out += "\n| role | sees of the case (`GET /v1/agencies/{agency}/cases/{caseId}`) |\n|---|---|\n"
        for role in PartyRole.allCases {
            guard let view = views[role.rawValue] else { continue }
            out += "| \(spaced(role.rawValue)) | \(caseView(view)) |\n"
        }
        return out
    }

    /// "—": the role is not named (it sends the event, or is not party when it is sent).
    private static func fieldSet(_ value: JSONValue?) -> String {
        switch value {
        case nil: "—"
        case .string("all")?: "all"
        case .string("none")?: "nothing"
        case .array(let pointers)? where pointers.isEmpty: "that it happened (no data)"
        case .array(let pointers)?: fields(.array(pointers))
        default: "?"
        }
    }

    private static func caseView(_ value: JSONValue) -> String {
        if value == .string("all") { return "everything" }
        var parts = ["case id, procedure, holder, parties"]
        let shown = value["fields"]?.arrayValue?.compactMap(\.stringValue) ?? []
        parts.append(shown.map { "`\($0)`" }.joined(separator: ", "))
        if let numbers = value["numbersOf"]?.arrayValue?.compactMap(\.stringValue) {
            parts.append("numbers of the \(numbers.map(spaced).joined(separator: ", ")) only")
        }
        if let deadlines = value["deadlines"]?.arrayValue?.compactMap(\.stringValue) {
            parts.append("deadlines \(deadlines.map { "`\($0)`" }.joined(separator: ", ")) only")
        }
        let withheld = Disclosure.CaseViewRule.viewFields.filter { !shown.contains($0) }
        if !withheld.isEmpty { parts.append("not \(withheld.map { "`\($0)`" }.joined(separator: ", "))") }
        return parts.joined(separator: "; ")
    }

    private static func fields(_ pointers: JSONValue) -> String {
        (pointers.arrayValue ?? []).compactMap(\.stringValue).map { "`\($0.dropFirst())`" }.joined(separator: ", ")
    }

    private static func title(_ type: String) -> String {
        let eventType = EventType(rawValue: type)
        guard let entry = EventCatalogue.standard[eventType] else { return ProcedureTables.short(eventType) }
        return "\(ProcedureTables.short(eventType)) \(cell(entry.titleZH))"
    }

    private static func spaced(_ label: String) -> String {
        label.replacingOccurrences(of: "-", with: " ")
    }

    private static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }
}
