/// Need to know: what each party receives of each event of a case, and sees
/// of the case, by procedure, event type and its role on the case; and what
/// the hub's own topics carry. Kept as data beside the schemas
/// (`Schemas/disclosure.json`, its schema `disclosure.schema.json`),
/// compiled in (``standard``); docs/case-model.md shows it per procedure.
///
/// A role the rule does not name for an event type receives nothing of it:
/// a rule missing is a delivery withheld, never a leak (a test checks that
/// every delivery the procedures make is named).
public struct Disclosure: Sendable {
    /// What a recipient receives of one event.
    public enum FieldSet: Sendable, Hashable {
        /// The whole event.
        case all
        /// Only these fields of its data (none: only that it happened).
        case only(FieldSelection)

        /// What a recipient in several roles receives: everything any of them does.
        public func union(_ other: FieldSet) -> FieldSet {
            switch (self, other) {
            case (.only(let a), .only(let b)): .only(a.union(b))
            default: .all
            }
        }
    }

    /// What a party sees of the case itself (its case view) beyond its id,
    /// procedure, holder and parties. Nil members: no limit.
    public struct CaseViewRule: Sendable, Hashable {
        /// Fields shown; nil: all of them.
        public var fields: Set<String>?
        /// Whose numbers are shown, by role; nil: every agency's.
        public var numbersOf: Set<PartyRole>?
        /// Which deadlines are shown, by rule id; nil: all of them.
        public var deadlines: Set<String>?

        public static let all = CaseViewRule(fields: nil, numbersOf: nil, deadlines: nil)
        /// A party in no role the rule names: only what says the case exists and who is party.
        public static let minimal = CaseViewRule(fields: [], numbersOf: [], deadlines: [])

        public static let viewFields = ["title", "status", "numbers", "version", "openedAt", "updatedAt", "links", "deadlines"]

        func union(_ other: CaseViewRule) -> CaseViewRule {
            func merge<T>(_ a: Set<T>?, _ b: Set<T>?) -> Set<T>? { a.flatMap { a in b.map { a.union($0) } } }
            return CaseViewRule(fields: merge(fields, other.fields), numbersOf: merge(numbersOf, other.numbersOf),
                                deadlines: merge(deadlines, other.deadlines))
        }
    }

    /// What a hub topic of its own withholds (`feeds` in the rule).
    public enum Feed: String, Sendable, CaseIterable {
        case changes, rejected
    }

    /// The rule as written (`Schemas/disclosure.json`).
    public let document: JSONValue
    public let version: Int
    /// Per procedure, event type and recipient role: what it receives; absent: nothing.
    public let deliveries: [Procedure: [EventType: [RecipientRole: FieldSet]]]
    /// Per procedure and party role: what it sees of the case; absent: ``CaseViewRule/minimal``.
    public let caseViews: [Procedure: [PartyRole: CaseViewRule]]
    /// Per event type, the fields holding personal data.
    public let personal: [EventType: FieldSelection]
    /// The feeds that leave the personal data out.
    public let feedsWithholdingPersonal: Set<Feed>
    /// The hub's own notices, delivered whole to whom the hub addresses them.
    public let notices: Set<EventType>

    /// The rule compiled into this build (`Schemas/disclosure.json`).
    public static let standard: Disclosure = {
        do {
            return try Disclosure(json: JSONValue.parse(Array(shippedJSON.utf8)))
        } catch {
            preconditionFailure("the compiled disclosure rule is invalid: \(error)")
        }
    }()

    public struct RuleError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Reads a rule in the form of `Schemas/disclosure.json` (checked against
    /// its schema by the tests and `make schemas`; here only what the code needs).
    public init(json: JSONValue) throws(RuleError) {
        func fail(_ text: String) -> RuleError { RuleError(description: "disclosure rule: \(text)") }
        guard case .integer(let version)? = json["version"] else { throw fail("no version") }
        document = json
        self.version = Int(version)
        var deliveries: [Procedure: [EventType: [RecipientRole: FieldSet]]] = [:]
        var caseViews: [Procedure: [PartyRole: CaseViewRule]] = [:]
        for (name, body) in json["procedures"]?.objectValue ?? [:] {
            guard let procedure = Procedure(rawValue: name) else { throw fail("unknown procedure \(name)") }
            var byType: [EventType: [RecipientRole: FieldSet]] = [:]
            for (type, roles) in body["deliveries"]?.objectValue ?? [:] {
                var byRole: [RecipientRole: FieldSet] = [:]
                for (roleName, value) in roles.objectValue ?? [:] where roleName != "why" {
                    guard let role = RecipientRole(rawValue: roleName) else { throw fail("\(name) \(type): unknown role \(roleName)") }
                    switch value {
                    case .string("all"): byRole[role] = .all
                    case .string("none"): break
                    case .array(let pointers):
                        do {
                            byRole[role] = .only(try FieldSelection(pointers: pointers.compactMap(\.stringValue)))
                        } catch {
                            throw fail("\(name) \(type) \(roleName): \(error)")
                        }
                    default: throw fail("\(name) \(type) \(roleName): expected \"all\", \"none\" or a list of fields")
                    }
                }
                byType[EventType(rawValue: type)] = byRole
            }
            deliveries[procedure] = byType
            var views: [PartyRole: CaseViewRule] = [:]
            for (roleName, value) in body["caseView"]?.objectValue ?? [:] {
                guard let role = PartyRole(rawValue: roleName) else { throw fail("\(name) case view: unknown role \(roleName)") }
                if value == .string("all") {
                    views[role] = .all
                    continue
                }
                let strings = { (key: String) in value[key]?.arrayValue.map { Set($0.compactMap(\.stringValue)) } }
                let numbersOf = try strings("numbersOf").map { names throws(RuleError) -> Set<PartyRole> in
                    Set(try names.map { name throws(RuleError) -> PartyRole in
                        guard let role = PartyRole(rawValue: name) else { throw fail("case view: unknown role \(name)") }
                        return role
                    })
                }
                views[role] = CaseViewRule(fields: strings("fields") ?? [], numbersOf: numbersOf, deadlines: strings("deadlines"))
            }
            caseViews[procedure] = views
        }
        self.deliveries = deliveries
        self.caseViews = caseViews
        var personal: [EventType: FieldSelection] = [:]
        for (type, pointers) in json["personal"]?.objectValue ?? [:] {
            do {
                personal[EventType(rawValue: type)] = try FieldSelection(pointers: pointers.arrayValue?.compactMap(\.stringValue) ?? [])
            } catch {
                throw fail("personal \(type): \(error)")
            }
        }
        self.personal = personal
        feedsWithholdingPersonal = Set(Feed.allCases.filter { json["feeds"]?[$0.rawValue]?["withhold"] == .string("personal") })
        notices = Set((json["notices"]?.objectValue ?? [:]).keys.map(EventType.init(rawValue:)))
    }

    // MARK: lookups

    /// The roles `agency` receives an event of `state` in: its roles on the
    /// case, or ``RecipientRole/supervisor`` when it has none (a procuratorate
    /// told of a penalty decision on a case it supervises).
    public static func roles(of agency: AgencyID, on state: CaseState) -> [RecipientRole] {
        let roles = state.role(of: agency).map(RecipientRole.init)
        return roles.isEmpty ? [.supervisor] : roles
    }

    /// What a recipient in `roles` receives of an event of `type` on a case of
    /// `procedure`: nil when nothing (the event is not delivered to it).
    public func fieldSet(for type: EventType, in procedure: Procedure, to roles: [RecipientRole]) -> FieldSet? {
        let byRole = deliveries[procedure]?[type] ?? [:]
        var received: FieldSet?
        for fields in roles.compactMap({ byRole[$0] }) {
            received = received.map { $0.union(fields) } ?? fields
        }
        return received
    }

    /// Whether a party in `roles` hears of deadline `ruleID`'s warning and
    /// overdue notice: only of a deadline its case view shows (the agency
    /// that must act always hears, whatever the rule: ``DeadlineRule/noticeRecipients(obliged:on:)``).
    public func hearsOfDeadline(_ ruleID: String, in procedure: Procedure, roles: [PartyRole]) -> Bool {
        let seen = caseView(in: procedure, for: roles)
        return (seen.fields?.contains("deadlines") ?? true) && (seen.deadlines?.contains(ruleID) ?? true)
    }

    /// What a party in `roles` sees of a case of `procedure`.
    public func caseView(in procedure: Procedure, for roles: [PartyRole]) -> CaseViewRule {
        let byRole = caseViews[procedure] ?? [:]
        var seen: CaseViewRule?
        for role in roles {
            let rule = byRole[role] ?? .minimal
            seen = seen.map { $0.union(rule) } ?? rule
        }
        return seen ?? .minimal
    }
}

/// The role a recipient has on a case when an event is delivered to it: a
/// ``PartyRole``, or ``supervisor`` for an agency told of a case it is not party to.
public enum RecipientRole: String, Sendable, Hashable, CaseIterable, Comparable {
    case holder
    case addressee
    case police
    case procuratorate
    case court
    case appealCourt = "appeal-court"
    case commission
    case supervisor

    public init(_ role: PartyRole) {
        self = RecipientRole(rawValue: role.rawValue)!
    }

    public static func < (a: Self, b: Self) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}
