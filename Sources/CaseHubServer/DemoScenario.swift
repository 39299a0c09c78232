public import Adapters
public import CaseModel
import Foundation
public import Logging
public import ServiceLifecycle

/// `casehub run --demo`: Zhuzhou's agencies at work, so that a newcomer sees
/// the hub alive within a minute. Stories of every procedure start every few
/// seconds and advance step by step through the agencies' adapters (signed,
/// validated, applied by the hub like any submission). Deadlines run on a
/// compressed clock (a day lasts a few seconds), some stories stop before an
/// agency's reply so that deadlines go overdue, and now and then an invalid
/// submission is sent so that refusals show.
///
/// Each next step is tried on a local copy of the state machine first (same
/// rules, same clock) and sent once it would be accepted: a step that must
/// wait (a 30-day announcement) simply waits.
public final class DemoScenario: Service, Sendable {
    public struct Configuration: Sendable {
        /// How long a statutory day lasts in the demo.
        public var secondsPerDay = 2
        public var tick: Duration = .seconds(1)
        public var maxActiveStories = 12
        public init() {}
    }

    private let submitter: AgencySubmitter
    private let registry: AgencyRegistry
    private let machine: CaseMachine
    private let configuration: Configuration
    private let logger: Logger

    public init(submitter: AgencySubmitter, registry: AgencyRegistry, rules: DeadlineRules, configuration: Configuration, logger: Logger) {
        self.submitter = submitter
        self.registry = registry
        self.machine = CaseMachine(registry: registry, rules: rules)
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        logger.notice("demo scenario running: stories of every procedure; a statutory day lasts \(configuration.secondsPerDay) s")
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var stories: [Story] = []
        var started = 0
        var tick = 0
        while !Task.isCancelled {
            tick += 1
            if stories.count < configuration.maxActiveStories && tick % 3 == 1 {
                started += 1
                stories.append(Self.makeStory(number: started))
            }
            for index in stories.indices { await advance(&stories[index]) }
            stories.removeAll { $0.finished }
            if tick % 20 == 0 { await sendSomethingInvalid(number: tick / 20) }
            try? await Task.sleep(for: configuration.tick)
        }
    }

    // MARK: stories

    struct Step {
        let type: EventType
        let sender: AgencyID
        let data: (Story) -> JSONValue
    }

    struct Story {
        let caseID: String
        let number: Int
        var steps: [Step]
        var next = 0
        var state: CaseState?
        var eventIDs: [EventType: EventID] = [:]
        var waitedTicks = 0
        var finished: Bool { next >= steps.count }

        func id(of type: EventType) -> JSONValue { .string(eventIDs[type]?.description ?? "") }
    }

    /// Sends the story's next step once the local state machine accepts it;
    /// gives up on a step that stays refused (the demo's rules drifted).
    private func advance(_ story: inout Story) async {
        guard !story.finished, let sender = registry[story.steps[story.next].sender] else { return }
        let step = story.steps[story.next]
        let now = Date()
        let event = CloudEvent(source: step.sender, type: step.type,
                               time: now, subject: story.caseID, data: step.data(story))
        guard case .success(let transition) = machine.apply(event, by: sender, at: now, to: story.state) else {
            story.waitedTicks += 1
            if story.waitedTicks > 600 { story.next = story.steps.count }
            return
        }
        do {
            _ = try await submitter.submit(documents: event.structured, from: step.sender, logger: logger)
            story.state = transition.state
            story.eventIDs[event.type] = event.id
            story.next += 1
            story.waitedTicks = 0
        } catch {
            logger.warning("demo step not submitted", metadata: ["casehub.case_id": "\(story.caseID)", "type": "\(event.type)", "error": "\(error)"])
        }
    }

    /// An invalid payload (refused by the adapter) or an act out of turn
    /// (refused by the hub, with a receipt and a rejection row).
    private func sendSomethingInvalid(number: Int) async {
        let now = Date()
        let event: CloudEvent = number % 2 == 0
            ? CloudEvent(source: "zz-epb", type: .referralSubmitted, time: now,
                         subject: "zz-epb:demo-invalid-\(number)", data: ["receiver": "nobody", "referralKind": "rumour"])
            : CloudEvent(source: "zz-court", type: .litigationAccepted, time: now,
                         subject: "demo-never-filed-\(number)",
                         data: ["caseNumber": .string("（\(LocalDate(now).year)）湘02民初\(9000 + number)号"),
                                "acceptedOn": .string(LocalDate(now).description), "causeOfAction": "无诉先立"])
        do {
            _ = try await submitter.submit(documents: event.structured, from: event.source, logger: logger)
        } catch {
            logger.info("demo: an invalid submission was refused, as intended", metadata: ["type": "\(event.type)", "error": "\(error)"])
        }
    }

    static func makeStory(number: Int) -> Story {
        let kinds = ["referral", "crime", "pil", "civil-pil", "accountability", "compensation"]
        let kind = kinds[number % kinds.count]
        let stamp = String(UUID().uuidString.prefix(6)).lowercased()
        // Every third story of each procedure stops before an agency's reply: its deadline goes overdue.
        let late = (number / kinds.count) % 3 == 1
        let steps = steps(kind, number: number, late: late)
        // In the namespace of the agency whose first step opens the case.
        let caseID = CaseIDNamespace.caseID("demo-\(kind)-\(number)-\(stamp)", openedBy: steps[0].sender)
        return Story(caseID: caseID, number: number, steps: steps)
    }

    static func today() -> JSONValue { .string(LocalDate(Date()).description) }
    static func year() -> Int { LocalDate(Date()).year }

    static func steps(_ kind: String, number: Int, late: Bool) -> [Step] {
        let attachment: JSONValue = ["name": "材料.pdf", "sha256": .string(String(repeating: "ab", count: 32)), "size": 48_213]
        switch kind {
        case "referral":
            let all = [
                Step(type: .referralSubmitted, sender: "zz-epb") { _ in
                    ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": .string("渌江沿岸非法排污线索（演示 \(number)）")]
                },
                Step(type: .referralReceived, sender: "zz-procuratorate") { ["referralEventId": $0.id(of: .referralSubmitted)] },
                Step(type: .referralAccepted, sender: "zz-procuratorate") { _ in
                    ["receiverNumber": .string("株检受〔\(year())〕\(number)号"), "acceptedOn": today()]
                },
                Step(type: .referralConcluded, sender: "zz-procuratorate") { _ in ["outcome": "已立案办理"] },
            ]
            return late ? Array(all.prefix(1)) : all
        case "crime":
            let all = [
                Step(type: .crimeCaseReported, sender: "zz-epb-enforcement") { _ in ["summary": .string("渗坑排放含重金属废水（演示 \(number)）")] },
                Step(type: .crimeTransferDecided, sender: "zz-epb-enforcement") { _ in ["decision": "transfer"] },
                Step(type: .crimeTransferred, sender: "zz-epb-enforcement") { _ in
                    ["police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": .string("株环移〔\(year())〕\(number)号"),
                     "materials": [["kind": "transfer-letter", "attachment": attachment]]]
                },
                Step(type: .crimeReceiptSigned, sender: "zz-psb") { _ in [:] },
                Step(type: .crimeFilingDecided, sender: "zz-psb") { _ in ["decision": "filed"] },
            ]
            return late ? Array(all.prefix(4)) : all
        case "pil":
            let all = [
                Step(type: .pilClueRegistered, sender: "zz-procuratorate") { _ in ["clueSource": "public-report", "summary": .string("湘江排污口超标排放（演示 \(number)）")] },
                Step(type: .pilFiled, sender: "zz-procuratorate") { _ in ["documentNumber": .string("株检行公立〔\(year())〕\(number)号"), "agency": "zz-epb"] },
                Step(type: .pilFilingNoticeServed, sender: "zz-procuratorate") { _ in ["servedAt": .string(RFC3339.format(Date()))] },
                Step(type: .pilRecommendationIssued, sender: "zz-procuratorate") { _ in
                    ["documentNumber": .string("株检行公建〔\(year())〕\(number)号"), "agency": "zz-epb", "urgent": false,
                     "recommendations": ["依法查处超标排放", "督促开展生态修复"]]
                },
                Step(type: .pilRecommendationReceived, sender: "zz-epb") { _ in ["receivedAt": .string(RFC3339.format(Date()))] },
                Step(type: .pilReplySubmitted, sender: "zz-epb") { _ in ["rectified": true, "measures": ["已责令停产整治", "已立案处罚"]] },
                Step(type: .pilFollowUpRecorded, sender: "zz-procuratorate") { _ in
                    ["agencyStillFailing": false, "harmContinuing": false, "findings": "整改到位"]
                },
                Step(type: .pilTerminated, sender: "zz-procuratorate") { _ in ["reasons": ["行政机关已依法履职"]] },
            ]
            return late ? Array(all.prefix(5)) : all
        case "civil-pil":
            return [
                Step(type: .civilPILClueRegistered, sender: "zz-procuratorate") { _ in ["clueSource": "criminal-case", "summary": .string("非法倾倒危险废物（演示 \(number)）")] },
                Step(type: .civilPILFiled, sender: "zz-procuratorate") { _ in ["documentNumber": .string("株检民公立〔\(year())〕\(number)号")] },
                Step(type: .civilPILAnnouncementPublished, sender: "zz-procuratorate") { _ in
                    ["documentNumber": .string("株检民公告〔\(year())〕\(number)号"), "publishedOn": today(), "channel": "正义网"]
                },
                Step(type: .civilPILAnnouncementEnded, sender: "zz-procuratorate") { _ in ["qualifiedPlaintiffSued": false] },
                Step(type: .civilPILSuitFiled, sender: "zz-procuratorate") {
                    ["court": "zz-court", "complaintNumber": .string("株检民公诉〔\(year())〕\(number)号"),
                     "announcementEventId": $0.id(of: .civilPILAnnouncementPublished)]
                },
                Step(type: .litigationAccepted, sender: "zz-court") { _ in
                    ["caseNumber": .string("（\(year())）湘02民初\(number)号"), "acceptedOn": today(), "causeOfAction": "环境污染民事公益诉讼"]
                },
            ]
        case "accountability":
            let all = [
                Step(type: .accountabilityClueReferred, sender: "zz-epb") { _ in
                    ["commission": "zz-cdi", "summary": .string("对辖区非法采砂长期未履职（演示 \(number)）"), "officials": [["position": "某镇副镇长"]]]
                },
                Step(type: .accountabilityDisposalChosen, sender: "zz-cdi") { _ in ["disposal": "preliminary-verification"] },
                Step(type: .accountabilityVerificationConcluded, sender: "zz-cdi") { _ in ["finding": "substantiated"] },
                Step(type: .accountabilityReviewFiled, sender: "zz-cdi") { _ in ["documentNumber": .string("株纪立〔\(year())〕\(number)号")] },
                Step(type: .accountabilitySanctionDecided, sender: "zz-cdi") { _ in ["measures": ["major-demerit"]] },
                Step(type: .accountabilityFeedbackSent, sender: "zz-cdi") { _ in ["referrer": "zz-epb", "summary": "已给予记大过处分"] },
            ]
            return late ? Array(all.prefix(1)) : all
        default:  // compensation
            return [
                Step(type: .compensationAssessmentCompleted, sender: "zz-epb") { _ in
                    ["reportNumber": .string("湘环鉴字〔\(year())〕第\(number)号"), "damageAmount": 1_862_000.5]
                },
                Step(type: .compensationConsultationStarted, sender: "zz-epb") { _ in ["responsibleParty": "株洲某化工有限公司"] },
                Step(type: .compensationConsultationRoundHeld, sender: "zz-epb") { _ in ["round": 1, "heldOn": today()] },
                Step(type: .compensationConsultationFailed, sender: "zz-epb") { _ in ["reasons": ["赔偿义务人拒绝承担修复费用"]] },
                Step(type: .compensationSuitFiled, sender: "zz-epb") {
                    ["court": "zz-court", "consultationFailedEventId": $0.id(of: .compensationConsultationFailed)]
                },
                Step(type: .litigationAccepted, sender: "zz-court") { _ in
                    ["caseNumber": .string("（\(year())）湘02民初\(500 + number)号"), "acceptedOn": today(), "causeOfAction": "生态环境损害赔偿纠纷"]
                },
            ]
        }
    }
}
