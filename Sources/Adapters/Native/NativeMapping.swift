public import CaseModel
import Crypto
public import Foundation

/// How one kind of agency system's native records become canonical events:
/// a table, not code. Each record type names the canonical event it becomes
/// and where each payload field comes from (a native field, converted, looked
/// up in a code table, or a constant). A second city's dialect of the same
/// system is another table (`--native-mapping court=FILE`).
///
/// The table is JSON:
/// ```json
/// { "kind": "court", "format": "xml",
///   "fields": {"recordType": "JLLX", "recordId": "JLBH", "caseId": "TYAJBS", "time": "CZSJ"},
///   "records": {"LA": {"label": "立案", "event": "casehub.litigation.accepted.v1",
///                      "data": {"caseNumber": {"from": "AH", "check": "court-case-number"}, …}}},
///   "codes": {"instance": {"1": "first", "2": "second"}} }
/// ```
/// A field spec has `from` (native field) or `value` (a constant), `as`
/// (string, date, dateTime, boolean, integer, number, list, agency,
/// eventRef, json, objects, object, `code:<table>`, `list-code:<table>`),
/// `optional`, `check` (court-case-number, penalty-decision-number) and,
/// for `objects`, `fields` (specs applied to each element of the list); for
/// `object`, `fields` applied to the record itself.
public struct NativeMapping: Sendable {
    public let kind: AgencyKind
    /// "json" or "xml": what the kind's systems send (JSON is always accepted).
    public let format: String
    public let recordTypeField: String
    public let recordIdField: String
    public let caseIdField: String
    public let timeField: String?
    public let records: [String: RecordRule]
    public let codes: [String: [String: String]]

    public struct RecordRule: Sendable {
        public let label: String
        /// Nil: a record the hub has no canonical event for (acknowledged, nothing sent).
        public let event: EventType?
        public let note: String?
        public let data: [String: FieldSpec]
    }

    public indirect enum FieldSpec: Sendable {
        case field(from: String?, constant: JSONValue?, conversion: String, optional: Bool, check: String?, elements: [String: FieldSpec])
    }

    public struct InvalidTable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a table; every problem is reported with where it is.
    public init(json: JSONValue) throws {
        func text(_ value: JSONValue?, _ path: String) throws -> String {
            guard let string = value?.stringValue, !string.isEmpty else { throw InvalidTable(description: "\(path) must be a non-empty string") }
            return string
        }
        guard let kind = AgencyKind(rawValue: try text(json["kind"], "/kind")) else {
            throw InvalidTable(description: "/kind must be one of \(AgencyKind.allCases.map(\.rawValue))")
        }
        self.kind = kind
        format = json["format"]?.stringValue ?? "json"
        guard ["json", "xml"].contains(format) else { throw InvalidTable(description: "/format must be json or xml") }
        recordTypeField = try text(json["fields"]?["recordType"], "/fields/recordType")
        recordIdField = try text(json["fields"]?["recordId"], "/fields/recordId")
        caseIdField = try text(json["fields"]?["caseId"], "/fields/caseId")
        timeField = json["fields"]?["time"]?.stringValue
        var codes: [String: [String: String]] = [:]
        for (name, table) in json["codes"]?.objectValue ?? [:] {
            codes[name] = try (table.objectValue ?? [:]).mapValues { try text($0, "/codes/\(name)/…") }
        }
        self.codes = codes
        func spec(_ value: JSONValue, _ path: String) throws -> FieldSpec {
            guard case .object = value else { throw InvalidTable(description: "\(path) must be an object") }
            let conversion = value["as"]?.stringValue ?? "string"
            let known = ["string", "date", "dateTime", "boolean", "integer", "number", "list", "agency", "eventRef", "json", "objects", "object"]
            if !known.contains(conversion) && !conversion.hasPrefix("code:") && !conversion.hasPrefix("list-code:") {
                throw InvalidTable(description: "\(path)/as: unknown conversion '\(conversion)'")
            }
            if let table = conversion.split(separator: ":").dropFirst().first, codes[String(table)] == nil {
                throw InvalidTable(description: "\(path)/as: no code table '\(table)'")
            }
            guard value["from"]?.stringValue != nil || value["value"] != nil || conversion == "object" else {
                throw InvalidTable(description: "\(path) needs 'from' or 'value'")
            }
            var elements: [String: FieldSpec] = [:]
            for (name, element) in value["fields"]?.objectValue ?? [:] { elements[name] = try spec(element, "\(path)/fields/\(name)") }
            return .field(from: value["from"]?.stringValue, constant: value["value"], conversion: conversion,
                          optional: value["optional"] == .bool(true), check: value["check"]?.stringValue, elements: elements)
        }
        var records: [String: RecordRule] = [:]
        for (type, rule) in json["records"]?.objectValue ?? [:] {
            var data: [String: FieldSpec] = [:]
            for (name, value) in rule["data"]?.objectValue ?? [:] { data[name] = try spec(value, "/records/\(type)/data/\(name)") }
            let event = rule["event"]?.stringValue.map(EventType.init(rawValue:))
            if let event, EventCatalogue.standard[event] == nil {
                throw InvalidTable(description: "/records/\(type)/event: unknown event type \(event)")
            }
            records[type] = RecordRule(label: rule["label"]?.stringValue ?? type, event: event, note: rule["note"]?.stringValue, data: data)
        }
        guard !records.isEmpty else { throw InvalidTable(description: "/records must map at least one record type") }
        self.records = records
    }

    // MARK: mapping

    /// What one native record became.
    public struct Mapped: Sendable {
        public let recordType: String
        public let rule: RecordRule
        /// Nil when the record type has no canonical event.
        public let event: CloudEvent?
    }

    /// Maps a record sent by `sender`; throws every problem as violations
    /// whose paths name the native fields.
    public func map(_ record: [String: JSONValue], from sender: Agency, registry: AgencyRegistry, now: Date) throws(NativeRecordError) -> Mapped {
        var violations: [Violation] = []
        func required(_ field: String) -> String? {
            guard let value = Self.text(record[field]), !value.isEmpty else {
                violations.append(Violation(path: "/\(field)", rule: "required", message: "the record needs \(field)"))
                return nil
            }
            return value
        }
        guard let recordType = required(recordTypeField) else { throw NativeRecordError(violations: violations) }
        guard let rule = records[recordType] else {
            throw NativeRecordError(violations: [Violation(
                path: "/\(recordTypeField)", rule: "enum",
                message: "unknown record type '\(recordType.prefix(40))'; known: \(records.keys.sorted().joined(separator: ", "))")])
        }
        let recordID = required(recordIdField)
        let caseID = required(caseIdField)
        var time = now
        if let timeField, let raw = Self.text(record[timeField]), !raw.isEmpty {
            if let parsed = NativeValues.instant(raw) { time = parsed } else {
                violations.append(Violation(path: "/\(timeField)", rule: "format", message: "'\(raw.prefix(40))' is not a date-time"))
            }
        }
        var data: [String: JSONValue] = [:]
        for (name, spec) in rule.data {
            if let value = convert(spec, in: record, path: "", sender: sender, registry: registry, violations: &violations) {
                data[name] = value
            }
        }
        guard violations.isEmpty, let recordID, let caseID else { throw NativeRecordError(violations: violations) }
        guard let type = rule.event else { return Mapped(recordType: recordType, rule: rule, event: nil) }
        let event = CloudEvent(id: Self.eventID(agency: sender.id, recordID: recordID), source: sender.id, type: type,
                               time: time, subject: caseID, data: .object(data))
        return Mapped(recordType: recordType, rule: rule, event: event)
    }

    /// The canonical event id of a native record: the same record always
    /// gives the same id, so a resent record is a harmless retry and a changed
    /// one a conflict (UUID layout, version 8, from SHA-256).
    public static func eventID(agency: AgencyID, recordID: String) -> EventID {
        EventID.derived(from: "casehub-native:\(agency):\(recordID)")
    }

    private func convert(_ spec: FieldSpec, in record: [String: JSONValue], path: String, sender: Agency, registry: AgencyRegistry,
                         violations: inout [Violation]) -> JSONValue? {
        guard case .field(let from, let constant, let conversion, let optional, let check, let elements) = spec else { return nil }
        if let constant { return constant }
        if conversion == "object" {
            // Fields of the same record gathered into one object.
            var object: [String: JSONValue] = [:]
            for (name, element) in elements {
                if let value = convert(element, in: record, path: path, sender: sender, registry: registry, violations: &violations) {
                    object[name] = value
                }
            }
            return .object(object)
        }
        guard let from else { return nil }
        let fieldPath = "\(path)/\(from)"
        let raw = record[from]
        let isEmpty = raw == nil || raw == .null || raw == .string("") || raw == .array([])
        if isEmpty {
            if !optional { violations.append(Violation(path: fieldPath, rule: "required", message: "the record needs \(from)")) }
            return nil
        }
        func fail(_ message: String) -> JSONValue? {
            violations.append(Violation(path: fieldPath, rule: "native", message: message))
            return nil
        }
        let text = Self.text(raw) ?? ""
        var value: JSONValue
        switch conversion {
        case "string": value = .string(text)
        case "json": value = raw!
        case "date":
            guard let date = NativeValues.date(text) else { return fail("'\(text.prefix(40))' is not a date (2025-03-12, 20250312, 2025年3月12日)") }
            value = .string(date)
        case "dateTime":
            guard let instant = NativeValues.instant(text) else { return fail("'\(text.prefix(40))' is not a date-time (2025-03-12 10:00, China time if no offset)") }
            value = .string(RFC3339.format(instant))
        case "boolean":
            guard let flag = NativeValues.boolean(raw!) else { return fail("'\(text.prefix(20))' is not yes/no (1/0, 是/否, true/false)") }
            value = .bool(flag)
        case "integer":
            guard let number = Int64(text.trimmingCharacters(in: .whitespaces)) else { return fail("'\(text.prefix(20))' is not an integer") }
            value = .integer(number)
        case "number":
            // Double() also reads "nan" and "inf", and "1e999" as infinity: JSON has no such numbers.
            guard let number = Double(text.replacingOccurrences(of: ",", with: "").trimmingCharacters(in: .whitespaces)), number.isFinite else {
                return fail("'\(text.prefix(20))' is not a number")
            }
            value = .number(number)
        case "list":
            value = .array(NativeValues.list(raw!).map(JSONValue.string))
        case "agency":
            guard let agency = registry.all.first(where: { $0.id.rawValue == text || $0.name == text }) else {
                return fail("'\(text.prefix(60))' is neither a registered agency id nor an agency's full name")
            }
            value = .string(agency.id.rawValue)
        case "eventRef":
            // A hub event id as delivered, or the id of one of the sender's own records.
            value = .string((EventID(text) ?? Self.eventID(agency: sender.id, recordID: text)).description)
        case "objects":
            guard case .array(let items) = raw! else { return fail("\(from) must be a list of objects") }
            var converted: [JSONValue] = []
            for (index, item) in items.enumerated() {
                guard case .object(let members) = item else { return fail("\(from)[\(index)] must be an object") }
                var object: [String: JSONValue] = [:]
                for (name, element) in elements {
                    if let value = convert(element, in: members, path: "\(fieldPath)/\(index)", sender: sender, registry: registry, violations: &violations) {
                        object[name] = value
                    }
                }
                converted.append(.object(object))
            }
            value = .array(converted)
        default:
            let parts = conversion.split(separator: ":", maxSplits: 1).map(String.init)
            let table = codes[parts[1]] ?? [:]
            let keys = parts[0] == "list-code" ? NativeValues.list(raw!) : [text]
            var mapped: [JSONValue] = []
            for key in keys {
                guard let code = table[key] else {
                    return fail("unknown code '\(key.prefix(20))' for \(parts[1]); known: \(table.keys.sorted().joined(separator: ", "))")
                }
                mapped.append(.string(code))
            }
            value = parts[0] == "list-code" ? .array(mapped) : mapped[0]
        }
        switch check {
        case "court-case-number":
            do {
                let number = try CourtCaseNumber(parsing: text, registry: registry)
                if sender.kind == .court && !number.isIssued(by: sender) {
                    return fail("\(text) carries court code \(number.courtCode), not \(sender.name)'s (\(sender.courtCode ?? "none"))")
                }
                value = .string(number.description)
            } catch {
                return fail("\(error)")
            }
        case "penalty-decision-number":
            do {
                value = .string(try PenaltyDecisionNumber(parsing: text).description)
            } catch {
                return fail("\(error)")
            }
        default:
            break
        }
        return value
    }

    static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text): text.trimmingCharacters(in: .whitespacesAndNewlines)
        case .integer(let number): String(number)
        case .number(let number): String(number)
        case .bool(let flag): flag ? "true" : "false"
        default: nil
        }
    }
}

/// The spellings of dates, times, flags and lists in agencies' systems.
enum NativeValues {
    static let china = TimeZone(secondsFromGMT: 8 * 3600)!

    /// `2025-03-12`, `2025/03/12`, `20250312`, `2025年3月12日` → `2025-03-12`.
    static func date(_ text: String) -> String? {
        let digits = text.split(whereSeparator: { !$0.isNumber }).map(String.init)
        let parts: [String]
        if digits.count == 1, digits[0].count == 8 {
            let d = digits[0]
            parts = [String(d.prefix(4)), String(d.dropFirst(4).prefix(2)), String(d.suffix(2))]
        } else if digits.count == 3 {
            parts = digits
        } else {
            return nil
        }
        guard let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]), parts[0].count == 4,
              let date = LocalDate(year: year, month: month, day: day) else { return nil }
        return date.description
    }

    /// RFC 3339, or `2025-03-12 10:00[:00]` / `20250312100000` in China time.
    static func instant(_ text: String) -> Date? {
        if let instant = RFC3339.parse(text) { return instant }
        let digits = text.split(whereSeparator: { !$0.isNumber }).joined()
        guard digits.count == 12 || digits.count == 14,
              let date = self.date(String(digits.prefix(8))),
              let hour = Int(digits.dropFirst(8).prefix(2)), let minute = Int(digits.dropFirst(10).prefix(2)),
              hour < 24, minute < 60 else { return nil }
        let second = digits.count == 14 ? Int(digits.suffix(2)) ?? 99 : 0
        guard second < 60 else { return nil }
        return RFC3339.parse(String(format: "%@T%02d:%02d:%02d+08:00", date, hour, minute, second))
    }

    static func boolean(_ value: JSONValue) -> Bool? {
        if case .bool(let flag) = value { return flag }
        switch NativeMapping.text(value)?.lowercased() {
        case "1", "true", "y", "yes", "是": return true
        case "0", "false", "n", "no", "否": return false
        default: return nil
        }
    }

    /// A list as an array, or as text separated by `；`, `;`, `、` or new lines.
    static func list(_ value: JSONValue) -> [String] {
        if case .array(let items) = value { return items.compactMap { NativeMapping.text($0) }.filter { !$0.isEmpty } }
        return (NativeMapping.text(value) ?? "")
            .split(whereSeparator: { "；;、\n".contains($0) })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
    }
}

/// A native record that cannot be mapped: every problem, by native field.
public struct NativeRecordError: Error, Sendable {
    public let violations: [Violation]
}
