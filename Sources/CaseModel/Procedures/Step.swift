import Foundation

/// One event being applied to a case: the checks and moves procedure rules
/// are written with. Every check throws a ``Refusal`` naming what was wrong.
struct Step {
    var state: CaseState
    var effects: [CaseEffect] = []
    let event: CloudEvent
    let sender: Agency
    /// When the hub received the event, by its own clock.
    let receivedAt: Date
    /// The instant the law counts this event at: when the hub received it.
    /// The sender's declared `time` is only its claim, kept in the record
    /// beside; it drives the clocks only in an administrator's back-fill of
    /// historical cases (``CaseMachine/apply(_:by:at:to:related:backfilled:)``).
    let at: Date
    /// An administrator's back-fill of a historical case: no delivery will
    /// serve its documents, so declared receipts and services start the clocks.
    let backfilled: Bool
    let machine: CaseMachine
    /// Another case this event's rules look at (``CaseMachine/relatedCaseID(of:on:)``), as it stands.
    var related: CaseState?

    init(state: CaseState, event: CloudEvent, sender: Agency, receivedAt: Date, backfilled: Bool, machine: CaseMachine, related: CaseState?) {
        self.state = state
        self.event = event
        self.sender = sender
        self.receivedAt = receivedAt
        self.at = backfilled ? event.time : receivedAt
        self.backfilled = backfilled
        self.machine = machine
        self.related = related
    }

    var data: JSONValue { event.data }

    // MARK: checks

    /// The case must be in one of these states.
    func require(status allowed: Set<String>, to what: String) throws(Refusal) {
        guard allowed.contains(state.status) else {
            throw Refusal(
                code: .transitionNotAllowed,
                reason: "cannot \(what) while the case is '\(state.status)' (allowed in: \(allowed.sorted().joined(separator: ", ")))",
                reasonZH: "案件当前状态为「\(state.status)」，不能\(what)")
        }
    }

    /// The sender must play one of these roles on the case.
    func require(role roles: PartyRole..., to what: String) throws(Refusal) {
        guard roles.contains(where: { state.parties[$0] == sender.id }) else {
            let holders = roles.compactMap { state.parties[$0]?.rawValue }
            throw Refusal(
                code: .senderNotAllowed,
                reason: "only the case's \(roles.map(\.rawValue).joined(separator: " or ")) (\(holders.joined(separator: ", "))) may \(what); \(sender.id) may not",
                reasonZH: "只有本案的\(roles.map(\.rawValue).joined(separator: "或"))可以\(what)，\(sender.name)无权发送")
        }
    }

    /// The sender must be of one of these kinds.
    func require(kind kinds: AgencyKind..., to what: String) throws(Refusal) {
        guard kinds.contains(sender.kind) else {
            throw Refusal(
                code: .senderNotAllowed,
                reason: "only a \(kinds.map(\.rawValue).joined(separator: " or ")) may \(what); \(sender.id) is a \(sender.kind.rawValue)",
                reasonZH: "只有\(kinds.map(\.rawValue).joined(separator: "或"))可以\(what)")
        }
    }

    /// A registered agency named in the payload, of one of these kinds.
    func agency(at key: String, kinds: Set<AgencyKind>) throws(Refusal) -> Agency {
        let text = data[key]?.stringValue ?? ""
        guard let id = AgencyID(rawValue: text), let agency = machine.registry[id] else {
            throw Refusal(code: .agencyUnknown, reason: "'\(text.prefix(80))' is not a registered agency",
                          reasonZH: "「\(text.prefix(80))」不是已登记的机关",
                          violations: [Violation(path: "/data/\(key)", rule: "agency", message: "unknown agency")])
        }
        guard kinds.contains(agency.kind) else {
            throw Refusal(code: .agencyWrongKind,
                          reason: "\(id) is a \(agency.kind.rawValue), expected \(kinds.map(\.rawValue).sorted().joined(separator: " or "))",
                          reasonZH: "\(agency.name)不是所需类型的机关",
                          violations: [Violation(path: "/data/\(key)", rule: "agency-kind", message: "must be a \(kinds.map(\.rawValue).sorted().joined(separator: " or "))")])
        }
        return agency
    }

    func string(_ key: String) -> String? { data[key]?.stringValue }

    func bool(_ key: String) -> Bool? {
        if case .bool(let value)? = data[key] { return value }
        return nil
    }

    func date(_ key: String) -> LocalDate? { string(key).flatMap(LocalDate.init) }

    func dateTime(_ key: String) -> Date? { string(key).flatMap(RFC3339.parse) }

    /// A date-time the payload declares (a receipt, a service), bounded by the
    /// case's record and the hub's clock: not before `earliest` (when the act
    /// it follows reached the hub) and not after this event reached it. Nil
    /// when absent.
    func recordedInstant(_ key: String, notBefore earliest: Date?) throws(Refusal) -> Date? {
        guard let instant = dateTime(key) else { return nil }
        try requireWithinRecord(key, instant >= (earliest ?? .distantPast), instant <= at.addingTimeInterval(machine.allowedClockSkew),
                                earliest: earliest)
        return instant
    }

    /// A date the payload declares (a publication, a service), bounded by days as ``recordedInstant(_:notBefore:)``.
    func recordedDate(_ key: String, notBefore earliest: Date?) throws(Refusal) -> LocalDate? {
        guard let day = date(key) else { return nil }
        try requireWithinRecord(key, earliest.map { day >= LocalDate($0) } ?? true, day <= LocalDate(at.addingTimeInterval(machine.allowedClockSkew)),
                                earliest: earliest)
        return day
    }

    private func requireWithinRecord(_ key: String, _ notTooEarly: Bool, _ notTooLate: Bool, earliest: Date?) throws(Refusal) {
        guard !notTooEarly || !notTooLate else { return }
        let bound = notTooEarly
            ? ("after the hub received this event (\(RFC3339.format(at)))", "晚于枢纽收到本事件的时间", "not later than the hub's receipt of this event")
            : ("before \(RFC3339.format(earliest ?? at)), when the case's record of the act it follows begins", "早于本案记录中相应行为的时间", "not earlier than the case's record")
        throw Refusal(code: .timeOutsideRecord,
                      reason: "\(key) lies \(bound.0)", reasonZH: "\(key)所填日期\(bound.1)",
                      violations: [Violation(path: "/data/\(key)", rule: "within-record", message: bound.2)])
    }

    /// A payload reference that must name an event of this case.
    func requireReference(_ key: String, equals expected: EventID?, _ what: String, path: String? = nil) throws(Refusal) {
        let given = (path.map { data[$0]?[key] } ?? data[key])?.stringValue.flatMap(EventID.init)
        guard let expected, given == expected else {
            throw Refusal(code: .proofMismatch,
                          reason: "\(what): \(key) must be \(expected?.description ?? "an event this case does not have yet")",
                          reasonZH: "所附证明与本案记录不符：\(what)",
                          violations: [Violation(path: "/data/\(path.map { $0 + "/" } ?? "")\(key)", rule: "proof", message: "must reference this case's event")])
        }
    }

    // MARK: moves

    mutating func move(to status: String) {
        state.status = status
    }

    mutating func setRole(_ role: PartyRole, _ agency: AgencyID) {
        state.parties[role] = agency
    }

    /// Starts a deadline (replacing one of the same rule).
    mutating func start(_ ruleID: String, obliged: AgencyID, trigger: Date) {
        let rule = machine.rules[ruleID]
        let due = machine.calculator.due(after: trigger, period: rule.period)
        let deadline = StatutoryDeadline(
            rule: rule, obligedAgency: obliged, triggerEventID: event.id, triggerEventType: event.type,
            startedAt: trigger, dueAt: due,
            warnAt: machine.calculator.warning(before: due, lead: rule.warningLead, trigger: trigger),
            state: .running, closedByEventID: nil, closedAt: nil)
        state.deadlines[ruleID] = deadline
        effects.append(.deadlineStarted(deadline))
    }

    /// Creates a deadline whose clock runs from `served`'s receipt of this
    /// event (送达/收到之日): it starts when the hub records the delivery to
    /// that agency's inbox, or that agency's acknowledgement
    /// (``acknowledgeReceipt(_:)``), whichever comes first, and never before
    /// `notBefore` (a later day the sender declares, e.g. a service on paper).
    mutating func awaitService(_ ruleID: String, obliged: AgencyID, servedTo served: AgencyID, notBefore floor: Date? = nil) {
        // A back-filled document was served long ago, on paper: its declared day counts.
        if backfilled, let floor {
            start(ruleID, obliged: obliged, trigger: max(floor, at))
            return
        }
        let rule = machine.rules[ruleID]
        let earliest = max(floor ?? at, at)
        let due = machine.calculator.due(after: earliest, period: rule.period)
        let deadline = StatutoryDeadline(
            rule: rule, obligedAgency: obliged, triggerEventID: event.id, triggerEventType: event.type,
            startedAt: earliest, dueAt: due, warnAt: machine.calculator.warning(before: due, lead: rule.warningLead, trigger: earliest),
            state: .awaitingService, closedByEventID: nil, closedAt: nil, servedAgency: served)
        state.deadlines[ruleID] = deadline
        effects.append(.deadlineStarted(deadline))
    }

    /// The served agency acknowledges receipt (or the sender records a
    /// service it made otherwise): a clock still awaiting the hub's record of
    /// the delivery starts now, by the hub's clock. A declared receipt time
    /// in the payload does not move it.
    mutating func acknowledgeReceipt(_ ruleIDs: String..., declared: Date? = nil) {
        for id in ruleIDs {
            if let deadline = state.deadlines[id], deadline.state == .awaitingService {
                startServed(id, at: backfilled ? declared ?? at : at)
            }
        }
    }

    /// Starts a clock that awaited service, at `instant` (or its floor, if later).
    mutating func startServed(_ ruleID: String, at instant: Date) {
        guard var deadline = state.deadlines[ruleID], deadline.state == .awaitingService else { return }
        deadline.startServed(at: instant, calculator: machine.calculator)
        state.deadlines[ruleID] = deadline
        effects.append(.deadlineStarted(deadline))
    }

    /// Marks a running deadline met by this event (late or not). One still
    /// awaiting service is met too: the act came before the clock could start.
    mutating func meet(_ ruleIDs: String...) {
        for id in ruleIDs {
            guard var deadline = state.deadlines[id], [.running, .awaitingService].contains(deadline.state) else { continue }
            deadline.state = .met
            deadline.closedByEventID = event.id
            deadline.closedAt = at
            state.deadlines[id] = deadline
            effects.append(.deadlineMet(id: id, late: deadline.metLate))
        }
    }

    /// Stops every running (or paused) deadline: the case took a path where they no longer apply.
    mutating func stopRunning(except kept: Set<String> = []) {
        for (id, var deadline) in state.deadlines where [.running, .suspended, .awaitingService].contains(deadline.state) && !kept.contains(id) {
            deadline.state = .stopped
            deadline.closedByEventID = event.id
            deadline.closedAt = at
            state.deadlines[id] = deadline
            effects.append(.deadlineStopped(id: id))
        }
    }

    /// Pauses a running deadline (the proceedings are suspended).
    mutating func suspend(_ ruleID: String) {
        guard var deadline = state.deadlines[ruleID], deadline.state == .running else { return }
        deadline.state = .suspended
        state.deadlines[ruleID] = deadline
        effects.append(.deadlineSuspended(id: ruleID))
    }

    /// Runs a paused deadline again: the `days` calendar days of the pause do
    /// not count, so the period is counted as if it had started that much
    /// later (and a last day on a holiday still moves to the next working day).
    /// China keeps no daylight saving: a day is 86,400 seconds.
    mutating func resume(_ ruleID: String, afterDays days: Int) {
        guard var deadline = state.deadlines[ruleID], deadline.state == .suspended else { return }
        let rule = machine.rules[ruleID]
        deadline.state = .running
        deadline.dueAt = machine.calculator.due(after: deadline.startedAt.addingTimeInterval(TimeInterval(days) * 86_400), period: rule.period)
        deadline.warnAt = machine.calculator.warning(before: deadline.dueAt, lead: rule.warningLead, trigger: deadline.startedAt)
        state.deadlines[ruleID] = deadline
        effects.append(.deadlineResumed(deadline))
    }

    mutating func recordNumber(_ key: String) {
        if let number = string(key) { state.numbers[sender.id] = number }
    }
}
