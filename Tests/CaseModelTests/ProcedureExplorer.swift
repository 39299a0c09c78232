import CaseModel
import Foundation
import TestSupport

/// What the case machine does in one procedure, found by trying events on it
/// rather than by reading its rules: the source of the tables in
/// docs/case-model.md.
struct ProcedureFindings {
    /// One accepted step: status before (nil: no case yet), event, status
    /// after, and the clocks it starts (which may depend on the payload).
    struct Step: Hashable {
        let from: String?
        let event: EventType
        let to: String
        let started: [String]
    }

    /// Who sent an accepted event.
    enum Sender: Hashable {
        /// A party to the case, in these roles (one agency may hold several).
        case party([PartyRole])
        /// An agency of this kind, opening the case.
        case opener(AgencyKind)
        /// An agency of this kind, no party yet, joining the case by this event.
        case joining(AgencyKind)
    }

    /// Who sent a step and which clocks it met or stopped (those still
    /// running), over every time it was taken.
    struct StepDetails: Hashable {
        var senders: Set<Sender> = []
        var met: Set<String> = []
        var stopped: Set<String> = []
        var suspended: Set<String> = []
        var resumed: Set<String> = []
        /// Whether every party of the case could take it, wherever it was taken…
        var everyParty = true
        /// …and the most parties a case had there.
        var mostParties = 0
    }

    struct DeadlineDetails {
        var startedBy: Set<EventType> = []
        /// Roles whose receipt of the starting event starts the clock (送达), if any.
        var servedTo: Set<String> = []
        var metBy: Set<EventType> = []
        var stoppedBy: Set<EventType> = []
        var suspendedBy: Set<EventType> = []
        var resumedBy: Set<EventType> = []
        /// The role of the agency that must act: the hub warns it (and the case's holder).
        var obliged: Set<String> = []
    }

    let procedure: Procedure
    let opening: EventType
    /// In the order first taken, as are statuses and deadlines.
    var steps: [Step] = []
    var details: [Step: StepDetails] = [:]
    var statuses: [String] = []
    var closedStatuses: Set<String> = []
    var deadlineOrder: [String] = []
    var deadlines: [String: DeadlineDetails] = [:]
    /// Every refusal met, with the event types that met it.
    var refusals: [RefusalCode: Set<EventType>] = [:]
    /// The roles each accepted event type was delivered in (``Disclosure/roles(of:on:)``).
    var deliveries: [EventType: Set<RecipientRole>] = [:]
}

/// Explores each procedure breadth-first from the ways it opens. In every
/// case state reached, each event type of the procedure (and of litigation,
/// and `case.linked`) is sent by every party and by an outsider of each agency
/// kind, with payloads made from the catalogue's valid examples, soon after
/// the previous event and long after it. Every other type is tried once per
/// state: it can only be refused. Deterministic: arrays everywhere, no
/// randomness that reaches the findings.
struct ProcedureExplorer {
    static let registry = AgencyRegistry.zhuzhou
    let machine = CaseMachine(registry: ProcedureExplorer.registry)

    /// A Monday; the paths explored stay well within the shipped holiday calendar.
    static let start = RFC3339.parse("2025-03-03T09:00:00+08:00")!
    /// Soon enough to be within every period; late enough to be past every
    /// period that a step waits for (a 2-month reply, a 30-day announcement).
    static let soon: TimeInterval = 3600
    static let late: TimeInterval = 100 * 86_400

    /// Where the catalogue's examples are set (天元区): their agencies are
    /// this district's and the city's.
    static let district = "430211"

    /// One agency of each kind in the district, then one of the city: the
    /// openers (the district's open a case first, as most cases open at the
    /// basic level, where jurisdiction is checked), and the outsiders.
    static let representatives: [Agency] = {
        let all = ProcedureExplorer.registry.all
        let local = AgencyKind.allCases.compactMap { kind in all.first { $0.kind == kind && $0.divisionCode == district } }
        let city = AgencyKind.allCases.compactMap { kind in all.first { $0.kind == kind && $0.level == .city } }
        return local + city
    }()

    /// Refusals for the case's status, the sender's role, the procedure, a
    /// closed case or a reserved type: no payload or instant changes them.
    static let regardlessOfPayloadAndTime: Set<RefusalCode> = [
        .transitionNotAllowed, .senderNotAllowed, .procedureMismatch, .caseClosed, .caseExists, .typeReserved,
    ]

    /// An id in the right form that names no agency.
    static let unregisteredAgency = "unregistered-agency"

    /// Every procedure, in the order the documents list them.
    func exploreAll() -> [ProcedureFindings] {
        ProcedureOpening.all.map { opening in
            explore(Procedure(rawValue: opening.procedure)!, opening: EventType(rawValue: "casehub.\(opening.first).v1"))
        }
    }

    private struct Node {
        let state: CaseState?
        let clock: Date
    }

    /// What decides where a case can go next: its status, which roles are
    /// filled, which clocks run, and its facts; not ids, numbers, links or
    /// instants. Clocks that have run are left out, or their histories would
    /// multiply the states: a step meets or stops only a running clock, and
    /// the one check that reads a finished one (has the PIL reply period
    /// run?) finds it in every state that gets that far.
    private struct Key: Hashable {
        let status: String
        let roles: [PartyRole]
        let runningDeadlines: [String]
        let facts: [String]

        init(_ state: CaseState) {
            status = state.status
            roles = PartyRole.allCases.filter { state.parties[$0] != nil }
            runningDeadlines = state.deadlines.values.filter { $0.state == .running }.map(\.id).sorted()
            // Through Mirror, so that a fact added later counts without a change here.
            facts = Mirror(reflecting: state.facts).children.map { child in
                let value = switch child.value {
                // Recorded identifiers and instants, and lists of numbers (penalty decisions): no rule reads their values.
                case is EventID, is Date, is LocalDate, is [String]: "recorded"
                default: String(describing: child.value)
                }
                return "\(child.label ?? "")=\(value)"
            }
        }
    }

    func explore(_ procedure: Procedure, opening: EventType) -> ProcedureFindings {
        let catalogue = EventCatalogue.standard.types
        let own = catalogue.filter { [opening.procedure, "litigation"].contains($0.procedure) || $0 == .caseLinked }
        var findings = ProcedureFindings(procedure: procedure, opening: opening)
        let caseID = "explored-\(procedure.rawValue)"
        var queue = [Node(state: nil, clock: Self.start)]
        var seen = Set<Key>()
        var next = 0
        while next < queue.count {
            let node = queue[next]
            next += 1
            var acceptedFrom: [ProcedureFindings.Step: Set<AgencyID>] = [:]
            /// Sends one event; says whether the payload or the instant could have mattered.
            func send(_ type: EventType, by sender: Agency, _ data: JSONValue, at time: Date, receivedAt: Date) -> Bool {
                let subject = node.state?.caseID ?? CaseIDNamespace.caseID(caseID, openedBy: sender.id)
                let event = CloudEvent(source: sender.id, type: type, time: time, subject: subject, data: data)
                switch machine.apply(event, by: sender, at: receivedAt, to: node.state) {
                case .failure(let refusal):
                    findings.refusals[refusal.code, default: []].insert(type)
                    return !Self.regardlessOfPayloadAndTime.contains(refusal.code)
                case .success(let transition):
                    // `case.opened` naming another procedure opens a case of that one.
                    guard transition.state.procedure == procedure else { return true }
                    let step = record(transition, of: event, by: sender, from: node.state, into: &findings)
                    acceptedFrom[step, default: []].insert(sender.id)
                    if seen.insert(Key(transition.state)).inserted {
                        queue.append(Node(state: transition.state, clock: time))
                    }
                    return true
                }
            }

            let senders = senders(for: node.state)
            let recorded = Self.recordedEvents(node.state)
            // Before a case exists only its openings are tried thoroughly, and
            // also dated a day after their receipt (the clock-skew check).
            let thorough: [EventType] = node.state == nil ? [.caseOpened, opening] : own
            let times: [(time: Date, receivedAt: Date)] = node.state == nil
                ? [(node.clock, node.clock.addingTimeInterval(60)), (node.clock.addingTimeInterval(86_400), node.clock)]
                : [Self.soon, Self.late].map { (node.clock.addingTimeInterval($0), node.clock.addingTimeInterval($0 + 60)) }
            let fits = times.map { Fit(state: node.state, recorded: recorded, caseID: caseID, time: $0.time) }
            for type in thorough {
                // A case's status and a sender's role depend on neither payload nor
                // time: a sender refused for either with the first payload soon
                // after the last event would be refused with every other. (Before a
                // case exists, the kind that may open it depends on the procedure
                // `case.opened` names: there every sender tries every payload.)
                let first = firstPayload(for: type, fits[0])
                let promising = senders.filter { sender in
                    send(type, by: sender, first, at: times[0].time, receivedAt: times[0].receivedAt) || node.state == nil
                }
                guard !promising.isEmpty else { continue }
                for (fit, (time, receivedAt)) in zip(fits, times) {
                    let payloads = payloads(for: type, fit)
                    for sender in promising {
                        for data in payloads where !(data == first && time == times[0].time) {
                            _ = send(type, by: sender, data, at: time, receivedAt: receivedAt)
                        }
                    }
                }
            }
            // Other types can only be refused (another procedure's, the hub's own).
            for type in catalogue where !thorough.contains(type) {
                _ = send(type, by: senders[0], firstPayload(for: type, fits[0]), at: times[0].time, receivedAt: times[0].receivedAt)
            }
            if let parties = node.state?.partyAgencies {
                for (step, accepted) in acceptedFrom {
                    findings.details[step]!.everyParty = findings.details[step]!.everyParty && Set(parties).isSubset(of: accepted)
                    findings.details[step]!.mostParties = max(findings.details[step]!.mostParties, parties.count)
                }
            }
        }
        return findings
    }

    /// The case's parties, then one outsider of each kind; before a case
    /// exists, the representatives.
    func senders(for state: CaseState?) -> [Agency] {
        guard let state else { return Self.representatives }
        let parties = state.partyAgencies.compactMap { Self.registry[$0] }
        let outsiders = AgencyKind.allCases.compactMap { kind in
            Self.representatives.first { $0.kind == kind && !state.partyAgencies.contains($0.id) }
        }
        return parties + outsiders
    }

    /// Who sent an event: its roles on the case, or its kind when it opens or joins the case.
    static func sender(_ sender: Agency, in state: CaseState?) -> ProcedureFindings.Sender {
        guard let state else { return .opener(sender.kind) }
        let roles = state.role(of: sender.id)
        return roles.isEmpty ? .joining(sender.kind) : .party(roles)
    }

    private func record(_ transition: Transition, of event: CloudEvent, by sender: Agency, from state: CaseState?,
                        into findings: inout ProcedureFindings) -> ProcedureFindings.Step {
        let after = transition.state
        for recipient in transition.recipients {
            findings.deliveries[event.type, default: []].formUnion(Disclosure.roles(of: recipient, on: after))
        }
        // A clock that awaits service is written `rule@role`: it starts on the event's delivery to that party.
        let started = transition.effects.compactMap { effect -> String? in
            guard case .deadlineStarted(let deadline) = effect else { return nil }
            guard deadline.state == .awaitingService, let served = deadline.servedAgency else { return deadline.id }
            return "\(deadline.id)@\(after.role(of: served).map(\.rawValue).joined(separator: " and "))"
        }
        let step = ProcedureFindings.Step(from: state?.status, event: event.type, to: after.status, started: started.sorted())
        if findings.details[step] == nil { findings.steps.append(step) }
        var details = findings.details[step] ?? .init()
        details.senders.insert(Self.sender(sender, in: state))
        for effect in transition.effects {
            switch effect {
            case .deadlineStarted(let deadline):
                if findings.deadlines[deadline.id] == nil { findings.deadlineOrder.append(deadline.id) }
                findings.deadlines[deadline.id, default: .init()].startedBy.insert(event.type)
                if deadline.state == .awaitingService, let served = deadline.servedAgency {
                    findings.deadlines[deadline.id, default: .init()].servedTo.insert(after.role(of: served).map(\.rawValue).joined(separator: " and "))
                }
                let obliged = after.role(of: deadline.obligedAgency).map(\.rawValue).joined(separator: " and ")
                findings.deadlines[deadline.id, default: .init()].obliged.insert(obliged.isEmpty ? deadline.obligedAgency.rawValue : obliged)
            case .deadlineMet(let id, _):
                details.met.insert(id)
                findings.deadlines[id, default: .init()].metBy.insert(event.type)
            case .deadlineStopped(let id):
                details.stopped.insert(id)
                findings.deadlines[id, default: .init()].stoppedBy.insert(event.type)
            case .deadlineSuspended(let id):
                details.suspended.insert(id)
                findings.deadlines[id, default: .init()].suspendedBy.insert(event.type)
            case .deadlineResumed(let deadline):
                details.resumed.insert(deadline.id)
                findings.deadlines[deadline.id, default: .init()].resumedBy.insert(event.type)
            case .notify, .link:
                break
            }
        }
        findings.details[step] = details
        if !findings.statuses.contains(after.status) {
            findings.statuses.append(after.status)
            if after.isClosed { findings.closedStatuses.insert(after.status) }
        }
        return step
    }

    // MARK: payloads

    /// A payload field the explorer varies, found in the type's schema.
    struct Slot {
        enum Kind {
            case agency, caseReference, eventReference, date, dateTime, flag
            case options([JSONValue])
            case count(ClosedRange<Int64>)

            var isAgency: Bool {
                if case .agency = self { true } else { false }
            }
        }

        let path: [String]
        let kind: Kind
    }

    static let slots: [EventType: [Slot]] = Dictionary(uniqueKeysWithValues: EventCatalogue.standard.types.map { type in
        (type, EventCatalogue.standard.schema(of: type).map { ProcedureExplorer.schemaSlots(in: $0, at: []) } ?? [])
    })

    private static func schemaSlots(in schema: JSONValue, at path: [String]) -> [Slot] {
        guard let properties = schema["properties"]?.objectValue else { return [] }
        return properties.keys.sorted().flatMap { key -> [Slot] in
            let property = properties[key]!
            let here = path + [key]
            if let reference = property["$ref"]?.stringValue {
                let kind: Slot.Kind? = switch reference.split(separator: "/").last {
                case "agencyId": .agency
                case "caseId": .caseReference
                case "eventId": .eventReference
                case "date": .date
                case "dateTime": .dateTime
                default: nil
                }
                return kind.map { [Slot(path: here, kind: $0)] } ?? []
            }
            if let options = property["enum"]?.arrayValue { return [Slot(path: here, kind: .options(options))] }
            switch property["type"]?.stringValue {
            case "boolean":
                return [Slot(path: here, kind: .flag)]
            case "integer":
                // Whole numbers count consultation rounds: up to one past the most allowed.
                let minimum = property["minimum"]?.integerValue ?? 0
                return [Slot(path: here, kind: .count(minimum...(minimum + Int64(DeadlineRules.defaultMaxConsultationRounds))))]
            case "object":
                return schemaSlots(in: property, at: here)
            default:
                return []
            }
        }
    }

    /// The catalogue's valid examples of each type (`Schemas/examples/<type>/valid-*.json`).
    static let examples: [EventType: [JSONValue]] = {
        let folder = PackagePaths.root.appendingPathComponent("Schemas/examples")
        var result: [EventType: [JSONValue]] = [:]
        for type in EventCatalogue.standard.types {
            let typeFolder = folder.appendingPathComponent(type.rawValue)
            let files = ((try? FileManager.default.contentsOfDirectory(atPath: typeFolder.path)) ?? [])
                .filter { $0.hasPrefix("valid-") && $0.hasSuffix(".json") }.sorted()
            result[type] = files.compactMap { file in
                (try? Data(contentsOf: typeFolder.appendingPathComponent(file))).flatMap { try? JSONValue.parse(Array($0)) }
            }
        }
        return result
    }()

    /// The events a case records among its facts (`recommendationEventID`…),
    /// by lower-case name: a payload's `recommendationEventId` refers to one.
    static func recordedEvents(_ state: CaseState?) -> [String: EventID] {
        guard let state else { return [:] }
        var result: [String: EventID] = [:]
        for child in Mirror(reflecting: state.facts).children {
            if let label = child.label, let id = child.value as? EventID { result[label.lowercased()] = id }
        }
        return result
    }

    /// What payloads are made to fit: the case (nil before it exists), the
    /// events it records, its id, and the event's time.
    struct Fit {
        let state: CaseState?
        let recorded: [String: EventID]
        let caseID: String
        let time: Date
    }

    /// An example made to fit the case: dates of acts at the event's time,
    /// references to the case's own events. An example's agency is usually a
    /// new party (an appeal court is not the first-instance court): where it
    /// is one already, the first payload names another of its kind, so that
    /// the case explored further has no agency in two roles; the second
    /// keeps the example's.
    private func fitted(_ example: JSONValue, slots: [Slot], _ fit: Fit) -> [JSONValue] {
        var base = example
        for slot in slots {
            switch slot.kind {
            case .date: base = base.setting(slot.path, to: .string(LocalDate(fit.time).description))
            case .dateTime: base = base.setting(slot.path, to: .string(RFC3339.format(fit.time)))
            case .eventReference:
                if let id = fit.recorded[slot.path.last!.lowercased()] { base = base.setting(slot.path, to: .string(id.description)) }
            default: break
            }
        }
        var newParties = base
        for slot in slots where slot.kind.isAgency {
            if let named = base.value(at: slot.path)?.stringValue.flatMap(AgencyID.init(rawValue:)),
               let parties = fit.state?.partyAgencies, parties.contains(named),
               let kind = Self.registry[named]?.kind,
               let other = Self.representatives.first(where: { $0.kind == kind && !parties.contains($0.id) }) {
                newParties = newParties.setting(slot.path, to: .string(other.id.rawValue))
            }
        }
        return [newParties, base]
    }

    /// The slots of a type that an example fills: only those are varied.
    private static func slots(of type: EventType, filledIn example: JSONValue) -> [Slot] {
        (slots[type] ?? []).filter { example.value(at: $0.path) != nil }
    }

    func firstPayload(for type: EventType, _ fit: Fit) -> JSONValue {
        guard let example = Self.examples[type]?.first else { return [:] }
        return fitted(example, slots: Self.slots(of: type, filledIn: example), fit)[0]
    }

    /// Each example fitted to the case, then varied one field at a time:
    /// every party and representative agency (and an unregistered one) where
    /// an agency is named, every option, both truth values, the case's own
    /// id where a case is named, the example's foreign event id where an
    /// event is.
    func payloads(for type: EventType, _ fit: Fit) -> [JSONValue] {
        var result: [JSONValue] = []
        var seen = Set<JSONValue>()
        for example in Self.examples[type] ?? [] {
            let slots = Self.slots(of: type, filledIn: example)
            for base in fitted(example, slots: slots, fit) {
                var candidates = [base]
                for slot in slots {
                    let alternatives: [JSONValue] = switch slot.kind {
                    case .agency:
                        ((fit.state?.partyAgencies ?? []) + Self.representatives.map(\.id)).map { JSONValue.string($0.rawValue) }
                            + [.string(Self.unregisteredAgency)]
                    case .caseReference: [.string(fit.caseID)]
                    case .eventReference: [example.value(at: slot.path)!]
                    case .options(let options): options
                    case .flag: [.bool(true), .bool(false)]
                    case .count(let range): range.map { .integer($0) }
                    case .date, .dateTime: []
                    }
                    candidates += alternatives.map { base.setting(slot.path, to: $0) }
                }
                for candidate in candidates where seen.insert(candidate).inserted {
                    result.append(candidate)
                }
            }
        }
        return result
    }
}

private extension JSONValue {
    func value(at path: [String]) -> JSONValue? {
        path.reduce(Optional(self)) { value, key in value?[key] }
    }

    func setting(_ path: [String], to newValue: JSONValue) -> JSONValue {
        guard let key = path.first else { return newValue }
        guard case .object(var members) = self else { return self }
        members[key] = (members[key] ?? .object([:])).setting(Array(path.dropFirst()), to: newValue)
        return .object(members)
    }
}
