import CaseModel
import Foundation
import Testing
import TestSupport

/// Property tests: random event sequences, reproducible from their seed.
struct RandomSequenceTests {
    static let registry = AgencyRegistry.zhuzhou
    static let allIDs = registry.all.map(\.id)
    static let machine = CaseMachine(registry: registry)
    /// Payload fields naming agencies, with the kind such a field usually names.
    static let agencyKeys: [String: AgencyKind?] = [
        "receiver": nil, "referrer": nil, "police": .publicSecurity, "procuratorate": .procuratorate,
        "upperProcuratorate": .procuratorate, "agency": .environmentBureau, "court": .court, "appealCourt": .court,
        "commission": .disciplineCommission,
    ]

    /// The procedure segments, with their opening event.
    static let procedures: [(segment: String, opening: String, openers: Set<AgencyKind>)] = [
        ("referral", "referral.submitted", Set(AgencyKind.allCases)), ("crime", "crime.case-reported", [.environmentBureau]),
        ("pil", "pil.clue-registered", [.procuratorate]), ("civil-pil", "civil-pil.clue-registered", [.procuratorate]),
        ("accountability", "accountability.clue-referred", Set(AgencyKind.allCases)),
        ("compensation", "compensation.assessment-completed", [.environmentBureau]),
    ]

    static let templates: [EventType: JSONValue] = {
        var result: [EventType: JSONValue] = [:]
        for type in EventCatalogue.standard.types {
            let file = SchemaAgreementTests.schemas.appendingPathComponent("examples/\(type)/valid-1.json")
            result[type] = try? SchemaAgreementTests.read(file)
        }
        return result
    }()

    static let schemaProperties: [EventType: [String: JSONValue]] = Dictionary(uniqueKeysWithValues: EventCatalogue.standard.types.map {
        ($0, EventCatalogue.standard.schema(of: $0)?["properties"]?.objectValue ?? [:])
    })

    struct Accepted {
        let event: CloudEvent
        let sender: Agency
        let receivedAt: Date
    }

    /// A payload from the type's example, with agencies, enums, booleans and
    /// event references drawn at random (biased towards the case's parties).
    static func payload(for type: EventType, state: CaseState?, history: [Accepted], at clock: Date, using rng: inout SplitMix64) -> JSONValue {
        guard case .object(var members) = templates[type] ?? .object([:]) else { return [:] }
        let schema = schemaProperties[type] ?? [:]
        let parties = state?.partyAgencies ?? []
        // Sorted: dictionary order differs between runs, and the seed must replay exactly.
        for key in members.keys.sorted() {
            let value = members[key]!
            if let kind = agencyKeys[key] {
                // A third each: a party of the case, an agency of the usual kind, any agency.
                let ofKind = kind.map { kind in allIDs.filter { registry[$0]!.kind == kind } } ?? allIDs
                let pools = [parties.isEmpty ? allIDs : parties, ofKind, allIDs]
                members[key] = .string(pools.randomElement(using: &rng)!.randomElement(using: &rng)!.rawValue)
            } else if let reference = schema[key]?["$ref"]?.stringValue, reference.hasSuffix("/dateTime") || reference.hasSuffix("/date") {
                // Dates of acts follow the walk's clock (sometimes a little earlier).
                let instant = clock.addingTimeInterval(-Double(Int.random(in: 0...(3 * 86_400), using: &rng)))
                members[key] = .string(reference.hasSuffix("/date") ? LocalDate(instant).description : RFC3339.format(instant))
            } else if let options = schema[key]?["enum"]?.arrayValue {
                members[key] = options.randomElement(using: &rng)!
            } else if case .bool = value {
                members[key] = .bool(Bool.random(using: &rng))
            } else if key.hasSuffix("EventId"), let old = history.randomElement(using: &rng) {
                members[key] = .string(old.event.id)
            } else if key == "proofs", case .object(var proofs) = value {
                for proof in proofs.keys.sorted() {
                    if let old = history.randomElement(using: &rng) { proofs[proof] = .string(old.event.id) }
                }
                members[key] = .object(proofs)
            } else if key == "round" {
                members[key] = .integer(Int64.random(in: 1...4, using: &rng))
            }
        }
        return .object(members)
    }

    /// One random walk: the procedure's opening event, then random events of
    /// the procedure (and of litigation) from random senders.
    static func walk(seed: UInt64, steps: Int) -> (accepted: [Accepted], states: [CaseState], final: CaseState?) {
        var rng = SplitMix64(seed: seed)
        let procedure = procedures.randomElement(using: &rng)!
        let types = EventCatalogue.standard.types.filter {
            $0.rawValue.hasPrefix("casehub.\(procedure.segment).") || $0.rawValue.hasPrefix("casehub.litigation.") || $0 == "casehub.case.linked.v1"
        }
        var state: CaseState?
        var accepted: [Accepted] = []
        var states: [CaseState] = []
        var clock = Scenario.instant("2024-01-02T09:00:00+08:00")
        for index in 0..<steps {
            clock = clock.addingTimeInterval(Double(Int.random(in: 0...(20 * 86_400), using: &rng)))
            // Candidates in random order, three random variants (sender, payload)
            // each; the first the rules accept is taken. Walks so get deep into
            // the procedure, and every refused candidate exercised a rule.
            // Side steps (links, terminations, steps that keep the state) mostly go last, so walks get deep before they end.
            let sideSteps = Set(types.filter { type in ["linked", "terminated", "withdrawn", "hearing-scheduled", "recommendation-recorded"].contains { type.rawValue.contains($0) } })
            let shuffled = types.shuffled(using: &rng)
            let ordered = Int.random(in: 0..<10, using: &rng) == 0
                ? shuffled : shuffled.filter { !sideSteps.contains($0) } + shuffled.filter { sideSteps.contains($0) }
            let candidates = index == 0 ? [EventType(rawValue: "casehub.\(procedure.opening).v1")] : ordered.flatMap { [$0, $0, $0] }
            for type in candidates {
                let parties = state?.partyAgencies ?? []
                let senderID: AgencyID
                if index == 0 {
                    senderID = registry.all.filter { procedure.openers.contains($0.kind) }.randomElement(using: &rng)!.id
                } else if !parties.isEmpty && Int.random(in: 0..<4, using: &rng) > 0 {
                    senderID = parties.randomElement(using: &rng)!
                } else {
                    senderID = allIDs.randomElement(using: &rng)!
                }
                let sender = registry[senderID]!
                let event = CloudEvent(id: EventID(UUID(uuid: uuid(&rng))), source: senderID, type: type,
                                       time: clock, subject: state?.caseID ?? CaseIDNamespace.caseID("walk-\(seed)", openedBy: senderID),
                                       data: payload(for: type, state: state, history: accepted, at: clock, using: &rng))
                let receivedAt = clock.addingTimeInterval(30)
                if case .success(let transition) = machine.apply(event, by: sender, at: receivedAt, to: state) {
                    state = transition.state
                    states.append(transition.state)
                    accepted.append(Accepted(event: event, sender: sender, receivedAt: receivedAt))
                    break
                }
            }
        }
        return (accepted, states, state)
    }

    static func uuid(_ rng: inout SplitMix64) -> uuid_t {
        let a = rng.next(), b = rng.next()
        return withUnsafeBytes(of: (a, b)) { bytes in
            (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], 0x40 | (bytes[6] & 0x0f), bytes[7],
             0x80 | (bytes[8] & 0x3f), bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15])
        }
    }

    @Test func randomSequencesNeverReachAForbiddenState() {
        var acceptedTotal = 0
        var statusesSeen = Set<String>()
        for seed in UInt64(1)...200 {
            let (accepted, states, _) = Self.walk(seed: seed, steps: 60)
            acceptedTotal += accepted.count
            for (offset, (state, step)) in zip(states, accepted).enumerated() {
                let previous = offset > 0 ? states[offset - 1] : nil
                statusesSeen.insert(state.status)
                for deadline in state.deadlines.values {
                    #expect(deadline.dueAt >= deadline.startedAt, "seed \(seed): \(deadline.rule.id) due before its start")
                    #expect(deadline.warnAt <= deadline.dueAt && deadline.warnAt >= deadline.startedAt, "seed \(seed)")
                }
                let time = step.event.time
                switch (state.procedure, state.status) {
                case (.administrativePIL, "suit-filed"):
                    let reply = state.deadlines["pil.reply"] ?? state.deadlines["pil.reply-urgent"]
                    #expect(state.facts.recommendationEventID != nil, "seed \(seed): suit without a recommendation")
                    #expect(reply.map { $0.dueAt <= time } == true, "seed \(seed): suit before the reply period ran")
                    #expect(state.facts.agencyStillFailing == true && state.facts.harmContinuing == true, "seed \(seed)")
                case (.civilPIL, "suit-filed"):
                    #expect(state.deadlines["civil-pil.announcement"].map { $0.dueAt <= time } == true, "seed \(seed): suit during the announcement")
                case (.accountability, "review"):
                    #expect(state.facts.disposal == "preliminary-verification", "seed \(seed): review without verification")
                case (.damageCompensation, _):
                    #expect(state.facts.consultationRounds <= DeadlineRules.defaultMaxConsultationRounds, "seed \(seed)")
                default:
                    break
                }
                // Only parties send accepted events (a procuratorate joins by its opinion or supervision).
                let wasParty = previous.map { !$0.role(of: step.sender.id).isEmpty } ?? true
                let joins = step.event.type.rawValue.contains("opinion-issued")
                #expect(wasParty || joins, "seed \(seed): \(step.sender.id) was no party but sent \(step.event.type)")
            }
        }
        // The walks must get somewhere for the property to mean anything.
        #expect(acceptedTotal > 2_000)
        let deep: Set<String> = ["concluded", "transferred", "filed", "awaiting-reply", "follow-up", "suit-filed", "in-court",
                                 "judged", "announcement", "review", "decided", "agreed", "failed"]
        #expect(statusesSeen.isSuperset(of: deep), "never reached: \(deep.subtracting(statusesSeen).sorted())")
    }

    @Test func replayingTheSameEventsGivesTheSameState() {
        for seed in UInt64(1000)...1100 {
            let (accepted, _, final) = Self.walk(seed: seed, steps: 40)
            var replayed: CaseState?
            for item in accepted {
                guard case .success(let transition) = Self.machine.apply(item.event, by: item.sender, at: item.receivedAt, to: replayed) else {
                    Issue.record("seed \(seed): an accepted event was refused on replay")
                    break
                }
                replayed = transition.state
            }
            #expect(replayed == final, "seed \(seed)")
            #expect((replayed?.version ?? 0) == accepted.count)
        }
    }
}
