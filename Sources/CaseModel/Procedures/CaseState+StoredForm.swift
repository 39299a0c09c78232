public import Foundation

// The stored form of a case's state, written and read by hand: the hub
// writes one per accepted event and replay one per case, and `JSONEncoder` /
// `JSONDecoder` spent several times as long on it (their keyed containers
// box every field). The shape is what `Codable` gives these types (so rows
// written before this existed read the same): property names as keys,
// optional fields left out when absent, dictionaries keyed by their raw
// values, instants as milliseconds since 1970, local dates as `YYYY-MM-DD`.

extension CaseState {
    /// The stored form: JSON with sorted keys, instants in milliseconds.
    public func encoded() throws -> String {
        storedJSON.canonicalString
    }

    public static func decoded(_ text: String) throws -> CaseState {
        try CaseState(storedJSON: JSONValue.parse(Array(text.utf8)))
    }

    public var storedJSON: JSONValue {
        var object: [String: JSONValue] = [
            "caseID": .string(caseID),
            "procedure": .string(procedure.rawValue),
            "status": .string(status),
            "version": .integer(Int64(version)),
            "parties": .object(Dictionary(uniqueKeysWithValues: parties.map { ($0.key.rawValue, .string($0.value.rawValue)) })),
            "numbers": .object(Dictionary(uniqueKeysWithValues: numbers.map { ($0.key.rawValue, .string($0.value)) })),
            "deadlines": .object(deadlines.mapValues(\.storedJSON)),
            "facts": facts.storedJSON,
            "links": .array(links.map { .object(["caseID": .string($0.caseID), "relation": .string($0.relation)]) }),
            "openedAt": StoredForm.instant(openedAt),
            "updatedAt": StoredForm.instant(updatedAt),
        ]
        object["title"] = title.map(JSONValue.string)
        return .object(object)
    }

    public init(storedJSON json: JSONValue) throws(StoredFormError) {
        let object = try StoredForm.Object(json, at: "case")
        var parties: [PartyRole: AgencyID] = [:]
        for (role, agency) in try object.members("parties") {
            parties[try StoredForm.enumeration(.string(role), at: "parties")] = try StoredForm.agency(agency, at: "parties/\(role)")
        }
        var numbers: [AgencyID: String] = [:]
        for (agency, number) in try object.members("numbers") {
            numbers[try StoredForm.agency(.string(agency), at: "numbers")] = try StoredForm.string(number, at: "numbers/\(agency)")
        }
        var deadlines: [String: StatutoryDeadline] = [:]
        for (id, deadline) in try object.members("deadlines") {
            deadlines[id] = try StatutoryDeadline(storedJSON: deadline)
        }
        let links = try object.items("links").map { (link) throws(StoredFormError) -> CaseLink in
            let link = try StoredForm.Object(link, at: "links")
            return CaseLink(caseID: try link.string("caseID"), relation: try link.string("relation"))
        }
        self.init(
            caseID: try object.string("caseID"), procedure: try object.enumeration("procedure"), status: try object.string("status"),
            version: Int(try object.integer("version")), title: try object.optionalString("title"),
            parties: parties, numbers: numbers, deadlines: deadlines,
            facts: try CaseFacts(storedJSON: object.required("facts")), links: links,
            openedAt: try object.instant("openedAt"), updatedAt: try object.instant("updatedAt"))
    }
}

extension CaseFacts {
    var storedJSON: JSONValue {
        var object: [String: JSONValue] = [
            "consultationRounds": .integer(Int64(consultationRounds)),
            "feedbackSent": .bool(feedbackSent),
        ]
        object["urgent"] = urgent.map(JSONValue.bool)
        object["recommendationEventID"] = recommendationEventID.map { .string($0.description) }
        object["replyEventID"] = replyEventID.map { .string($0.description) }
        object["recommendationIssuedAt"] = recommendationIssuedAt.map(StoredForm.instant)
        object["followUpEventID"] = followUpEventID.map { .string($0.description) }
        object["agencyStillFailing"] = agencyStillFailing.map(JSONValue.bool)
        object["harmContinuing"] = harmContinuing.map(JSONValue.bool)
        object["announcementEventID"] = announcementEventID.map { .string($0.description) }
        object["announcementPublishedOn"] = announcementPublishedOn.map { .string($0.description) }
        object["criminalIncidental"] = criminalIncidental.map(JSONValue.bool)
        object["consultationFailedEventID"] = consultationFailedEventID.map { .string($0.description) }
        object["disposal"] = disposal.map(JSONValue.string)
        object["judgmentForm"] = judgmentForm.map(JSONValue.string)
        object["judgmentInstance"] = judgmentInstance.map(JSONValue.string)
        object["judgmentServedOn"] = judgmentServedOn.map { .string($0.description) }
        object["notFiledAt"] = notFiledAt.map(StoredForm.instant)
        object["resumeStatus"] = resumeStatus.map(JSONValue.string)
        object["suspendedAt"] = suspendedAt.map(StoredForm.instant)
        object["parallelWaitLifted"] = parallelWaitLifted.map(JSONValue.bool)
        object["penaltyDecisionNumbers"] = penaltyDecisionNumbers.map { .array($0.map(JSONValue.string)) }
        return .object(object)
    }

    init(storedJSON json: JSONValue) throws(StoredFormError) {
        let object = try StoredForm.Object(json, at: "facts")
        self.init()
        urgent = try object.optionalBool("urgent")
        recommendationEventID = try object.optionalEventID("recommendationEventID")
        replyEventID = try object.optionalEventID("replyEventID")
        recommendationIssuedAt = try object.optionalInstant("recommendationIssuedAt")
        followUpEventID = try object.optionalEventID("followUpEventID")
        agencyStillFailing = try object.optionalBool("agencyStillFailing")
        harmContinuing = try object.optionalBool("harmContinuing")
        announcementEventID = try object.optionalEventID("announcementEventID")
        announcementPublishedOn = try object.optionalLocalDate("announcementPublishedOn")
        criminalIncidental = try object.optionalBool("criminalIncidental")
        consultationRounds = Int(try object.optionalInteger("consultationRounds") ?? 0)
        consultationFailedEventID = try object.optionalEventID("consultationFailedEventID")
        disposal = try object.optionalString("disposal")
        judgmentForm = try object.optionalString("judgmentForm")
        judgmentInstance = try object.optionalString("judgmentInstance")
        judgmentServedOn = try object.optionalLocalDate("judgmentServedOn")
        notFiledAt = try object.optionalInstant("notFiledAt")
        resumeStatus = try object.optionalString("resumeStatus")
        suspendedAt = try object.optionalInstant("suspendedAt")
        parallelWaitLifted = try object.optionalBool("parallelWaitLifted")
        feedbackSent = try object.optionalBool("feedbackSent") ?? false
        if object.members["penaltyDecisionNumbers"] != nil {
            penaltyDecisionNumbers = try object.items("penaltyDecisionNumbers").enumerated().map { (index, number) throws(StoredFormError) in
                try StoredForm.string(number, at: "facts/penaltyDecisionNumbers/\(index)")
            }
        }
    }
}

extension StatutoryDeadline {
    var storedJSON: JSONValue {
        var object: [String: JSONValue] = [
            "rule": rule.storedJSON,
            "obligedAgency": .string(obligedAgency.rawValue),
            "triggerEventID": .string(triggerEventID.description),
            "triggerEventType": .string(triggerEventType.rawValue),
            "startedAt": StoredForm.instant(startedAt),
            "dueAt": StoredForm.instant(dueAt),
            "warnAt": StoredForm.instant(warnAt),
            "state": .string(state.rawValue),
        ]
        object["closedByEventID"] = closedByEventID.map { .string($0.description) }
        object["closedAt"] = closedAt.map(StoredForm.instant)
        object["servedAgency"] = servedAgency.map { .string($0.rawValue) }
        return .object(object)
    }

    init(storedJSON json: JSONValue) throws(StoredFormError) {
        let object = try StoredForm.Object(json, at: "deadline")
        guard let triggerEventID = EventID(try object.string("triggerEventID")) else {
            throw StoredFormError(path: "deadline/triggerEventID", expected: "an event id")
        }
        self.init(
            rule: try DeadlineRule(storedJSON: object.required("rule")),
            obligedAgency: try StoredForm.agency(object.required("obligedAgency"), at: "deadline/obligedAgency"),
            triggerEventID: triggerEventID, triggerEventType: EventType(rawValue: try object.string("triggerEventType")),
            startedAt: try object.instant("startedAt"), dueAt: try object.instant("dueAt"), warnAt: try object.instant("warnAt"),
            state: try object.enumeration("state"),
            closedByEventID: try object.optionalEventID("closedByEventID"), closedAt: try object.optionalInstant("closedAt"),
            servedAgency: object.members["servedAgency"] == nil ? nil : try StoredForm.agency(object.required("servedAgency"), at: "deadline/servedAgency"))
    }
}

extension DeadlineRule {
    var storedJSON: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id), "nameZH": .string(nameZH), "nameEN": .string(nameEN), "legalBasis": .string(legalBasis),
            "period": period.storedJSON, "warningLead": warningLead.storedJSON, "confirmed": .bool(confirmed),
        ]
        object["alsoNotified"] = alsoNotified.map { .array($0.map { .string($0.rawValue) }) }
        return .object(object)
    }

    init(storedJSON json: JSONValue) throws(StoredFormError) {
        let object = try StoredForm.Object(json, at: "rule")
        self.init(
            id: try object.string("id"), nameZH: try object.string("nameZH"), nameEN: try object.string("nameEN"),
            legalBasis: try object.string("legalBasis"),
            period: try StatutoryPeriod(storedJSON: object.required("period")),
            warningLead: try StatutoryPeriod(storedJSON: object.required("warningLead")),
            confirmed: try object.bool("confirmed"),
            alsoNotified: object.members["alsoNotified"] == nil ? nil : try object.items("alsoNotified").map { (role) throws(StoredFormError) in
                try StoredForm.enumeration(role, at: "rule/alsoNotified")
            })
    }
}

extension StatutoryPeriod {
    var storedJSON: JSONValue {
        .object(["amount": .integer(Int64(amount)), "unit": .string(unit.rawValue)])
    }

    init(storedJSON json: JSONValue) throws(StoredFormError) {
        let object = try StoredForm.Object(json, at: "period")
        self.init(Int(try object.integer("amount")), try object.enumeration("unit"))
    }
}

/// A stored case state that does not have the expected shape.
public struct StoredFormError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let expected: String
    public var description: String { "stored case state: \(path) is not \(expected)" }
}

/// Reading helpers for the stored form.
enum StoredForm {
    static func instant(_ date: Date) -> JSONValue {
        let milliseconds = date.timeIntervalSince1970 * 1000
        return milliseconds.rounded() == milliseconds && abs(milliseconds) < 1e15 ? .integer(Int64(milliseconds)) : .number(milliseconds)
    }

    static func string(_ value: JSONValue, at path: String) throws(StoredFormError) -> String {
        guard case .string(let text) = value else { throw StoredFormError(path: path, expected: "a string") }
        return text
    }

    static func agency(_ value: JSONValue, at path: String) throws(StoredFormError) -> AgencyID {
        guard let agency = AgencyID(rawValue: try string(value, at: path)) else { throw StoredFormError(path: path, expected: "an agency id") }
        return agency
    }

    static func enumeration<Value: RawRepresentable<String>>(_ value: JSONValue, at path: String) throws(StoredFormError) -> Value {
        guard let known = Value(rawValue: try string(value, at: path)) else { throw StoredFormError(path: path, expected: "one of \(Value.self)") }
        return known
    }

    /// An object's members, read by name with the path for errors.
    struct Object {
        let members: [String: JSONValue]
        let path: String

        init(_ value: JSONValue, at path: String) throws(StoredFormError) {
            guard case .object(let members) = value else { throw StoredFormError(path: path, expected: "an object") }
            self.members = members
            self.path = path
        }

        func required(_ key: String) throws(StoredFormError) -> JSONValue {
            guard let value = members[key], value != .null else { throw StoredFormError(path: "\(path)/\(key)", expected: "present") }
            return value
        }

        private func optional(_ key: String) -> JSONValue? {
            guard let value = members[key], value != .null else { return nil }
            return value
        }

        func string(_ key: String) throws(StoredFormError) -> String { try StoredForm.string(required(key), at: "\(path)/\(key)") }

        func optionalString(_ key: String) throws(StoredFormError) -> String? {
            try optional(key).map { (value) throws(StoredFormError) in try StoredForm.string(value, at: "\(path)/\(key)") }
        }

        func enumeration<Value: RawRepresentable<String>>(_ key: String) throws(StoredFormError) -> Value {
            try StoredForm.enumeration(required(key), at: "\(path)/\(key)")
        }

        func integer(_ key: String) throws(StoredFormError) -> Int64 {
            guard let value = try optionalInteger(key) else { throw StoredFormError(path: "\(path)/\(key)", expected: "present") }
            return value
        }

        func optionalInteger(_ key: String) throws(StoredFormError) -> Int64? {
            switch optional(key) {
            case nil: return nil
            case .integer(let value): return value
            case .number(let value) where value.rounded() == value && abs(value) < 9e15: return Int64(value)
            default: throw StoredFormError(path: "\(path)/\(key)", expected: "an integer")
            }
        }

        func bool(_ key: String) throws(StoredFormError) -> Bool {
            guard let value = try optionalBool(key) else { throw StoredFormError(path: "\(path)/\(key)", expected: "present") }
            return value
        }

        func optionalBool(_ key: String) throws(StoredFormError) -> Bool? {
            switch optional(key) {
            case nil: return nil
            case .bool(let value): return value
            default: throw StoredFormError(path: "\(path)/\(key)", expected: "true or false")
            }
        }

        func instant(_ key: String) throws(StoredFormError) -> Date {
            guard let value = try optionalInstant(key) else { throw StoredFormError(path: "\(path)/\(key)", expected: "present") }
            return value
        }

        /// Milliseconds since 1970, as `JSONDecoder`'s `.millisecondsSince1970` reads them.
        func optionalInstant(_ key: String) throws(StoredFormError) -> Date? {
            switch optional(key) {
            case nil: return nil
            case .integer(let value): return Date(timeIntervalSince1970: Double(value) / 1000)
            case .number(let value): return Date(timeIntervalSince1970: value / 1000)
            default: throw StoredFormError(path: "\(path)/\(key)", expected: "milliseconds since 1970")
            }
        }

        func optionalEventID(_ key: String) throws(StoredFormError) -> EventID? {
            guard let text = try optionalString(key) else { return nil }
            guard let id = EventID(text) else { throw StoredFormError(path: "\(path)/\(key)", expected: "an event id") }
            return id
        }

        func optionalLocalDate(_ key: String) throws(StoredFormError) -> LocalDate? {
            guard let text = try optionalString(key) else { return nil }
            guard let date = LocalDate(text) else { throw StoredFormError(path: "\(path)/\(key)", expected: "a YYYY-MM-DD date") }
            return date
        }

        func members(_ key: String) throws(StoredFormError) -> [String: JSONValue] {
            guard let value = optional(key) else { return [:] }
            guard case .object(let members) = value else { throw StoredFormError(path: "\(path)/\(key)", expected: "an object") }
            return members
        }

        func items(_ key: String) throws(StoredFormError) -> [JSONValue] {
            guard let value = optional(key) else { return [] }
            guard case .array(let items) = value else { throw StoredFormError(path: "\(path)/\(key)", expected: "an array") }
            return items
        }
    }
}
