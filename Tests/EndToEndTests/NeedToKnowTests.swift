import CaseHubServer
import CaseModel
import Foundation
import Kafka
import Logging
import TestSupport
import Testing

/// Need to know, end to end: agencies post a case's events over HTTP as
/// their systems would; each party's inbox and case view hold what its role
/// on the case receives (`Schemas/disclosure.json`), and no more.
@Suite struct NeedToKnowTests {
    let rules = ProcedureRulesTests()

    /// The events of `caseID` in `agency`'s inbox that are not the hub's own notices, by type.
    func delivered(_ http: HTTPClient, _ agency: String, case caseID: String) async throws -> [String: JSONValue] {
        let (_, body) = try await http.send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000", nil)
        var events: [String: JSONValue] = [:]
        for item in body["events"]?.arrayValue ?? [] {
            guard let event = item["event"], event["subject"]?.stringValue == caseID,
                  let type = event["type"]?.stringValue, !type.hasPrefix("casehub.hub.") else { continue }
            events[type] = event
        }
        return events
    }

    /// The whole inbox of `agency` as text, to search for what must not be there.
    func inboxText(_ http: HTTPClient, _ agency: String) async throws -> String {
        try await http.send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000", nil).1.canonicalString
    }

    func view(_ http: HTTPClient, _ agency: String, _ caseID: String) async throws -> JSONValue {
        let (status, body) = try await http.send("GET", "/v1/agencies/\(agency)/cases/\(caseID)", nil)
        #expect(status == 200, "\(agency): \(body)")
        return body
    }

    /// Whether an object has a member (`value["k"] == nil` would compare with JSON null).
    static func has(_ value: JSONValue?, _ key: String) -> Bool {
        value?.objectValue?.keys.contains(key) ?? false
    }

    /// Instants a few minutes apart, ending now: the case's clocks run from them.
    static func times(_ count: Int) -> [String] {
        let now = Date()
        return (0..<count).map { RFC3339.format(now.addingTimeInterval(Double($0 - count) * 60)) }
    }

    static let suspects: JSONValue = [
        ["kind": "organisation", "name": "某化工有限公司", "creditCode": "91430200MA4L0XXXX1"],
        ["kind": "person", "name": "张某", "idNumber": "43020019800101123X", "phone": "13800000000", "address": "株洲市天元区某路1号"],
    ]

    /// 两法衔接: the police receive the transfer whole, the suspects' identity
    /// included; the procuratorate copied for supervision receives the facts
    /// and the suspects' names, not their identity card numbers, phones or
    /// addresses; the police learn that supervision was requested, not what
    /// the bureau argued. The change feed carries no identity card number.
    @Test func eachPartyOfACrimeTransferReceivesWhatItsRoleNeeds() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"]) { stack, http, _ in
            let caseID = TestEnvironment.caseID("need-to-know", openedBy: "zz-epb")
            let at = Self.times(7)
            let attachment: JSONValue = ["name": "移送书.pdf", "sha256": .string(String(repeating: "a", count: 64)), "size": 1, "mediaType": "application/pdf"]
            #expect(try await rules.step(http, "crime.case-reported", by: "zz-epb", case: caseID, at: at[0], ["summary": "渗坑排放"]) == "accepted")
            #expect(try await rules.step(http, "crime.transfer-decided", by: "zz-epb", case: caseID, at: at[1], ["decision": "transfer", "decidedBy": "局长"]) == "accepted")
            #expect(try await rules.step(http, "crime.transferred", by: "zz-epb", case: caseID, at: at[2], [
                "police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "株环移〔2026〕12号",
                "materials": [["kind": "transfer-letter", "attachment": attachment]], "suspects": Self.suspects,
            ]) == "accepted")
            #expect(try await rules.step(http, "crime.receipt-signed", by: "zz-psb", case: caseID, at: at[3]) == "accepted")
            #expect(try await rules.step(http, "crime.filing-decided", by: "zz-psb", case: caseID, at: at[4],
                                         ["decision": "not-filed", "reasons": ["证据不足"]]) == "accepted")
            #expect(try await rules.step(http, "crime.supervision-requested", by: "zz-epb", case: caseID, at: at[5],
                                         ["procuratorate": "zz-procuratorate", "reasons": ["监测数据超标三倍以上，应当立案而不立案"]]) == "accepted")
            #expect(try await rules.step(http, "crime.explanation-requested", by: "zz-procuratorate", case: caseID, at: at[6],
                                         ["documentNumber": "株检侦监〔2026〕7号"]) == "accepted")
            try await http.waitForEvent("zz-psb", type: "casehub.crime.explanation-requested.v1", subject: caseID)
            try await http.waitForEvent("zz-procuratorate", type: "casehub.crime.supervision-requested.v1", subject: caseID)
            try await http.waitForEvent("zz-epb", type: "casehub.crime.explanation-requested.v1", subject: caseID)

            // The police: the transfer whole, with the sender's own signature.
            let police = try await delivered(http, "zz-psb", case: caseID)
            let toPolice = try #require(police["casehub.crime.transferred.v1"])
            #expect(toPolice["data"]?["suspects"] == Self.suspects, "\(toPolice)")
            #expect(Self.has(toPolice, "signature") && !Self.has(toPolice, "disclosure"))
            // …that the bureau asked the procuratorate to supervise them, and nothing of its reasons.
            let supervision = try #require(police["casehub.crime.supervision-requested.v1"])
            #expect(supervision["data"] == [:] && supervision["disclosure"] == "partial", "\(supervision)")
            #expect(supervision["source"] == "zz-epb" && Self.has(supervision, "senderkey") && !Self.has(supervision, "signature"))
            #expect(police["casehub.crime.explanation-requested.v1"]?["data"]?["documentNumber"] == "株检侦监〔2026〕7号")
            #expect(!(try await inboxText(http, "zz-psb")).contains("三倍"))

            // The procuratorate: the facts, the suspects' names, none of their identifiers.
            let procuratorate = try await delivered(http, "zz-procuratorate", case: caseID)
            let copy = try #require(procuratorate["casehub.crime.transferred.v1"])
            #expect(copy["data"]?["suspects"] == [["kind": "organisation", "name": "某化工有限公司", "creditCode": "91430200MA4L0XXXX1"],
                                                  ["kind": "person", "name": "张某"]], "\(copy)")
            #expect(copy["data"]?["transferNumber"] == "株环移〔2026〕12号" && copy["data"]?["materials"]?[0]?["kind"] == "transfer-letter")
            #expect(copy["disclosure"] == "partial" && !Self.has(copy, "signature") && Self.has(copy, "senderkey"))
            #expect(procuratorate["casehub.crime.supervision-requested.v1"]?["data"]?["reasons"]?[0] == "监测数据超标三倍以上，应当立案而不立案")
            #expect(procuratorate["casehub.crime.filing-decided.v1"]?["data"]?["reasons"]?[0] == "证据不足")
            let procuratorateText = try await inboxText(http, "zz-procuratorate")
            for identifier in ["43020019800101123X", "13800000000", "某路1号"] {
                #expect(!procuratorateText.contains(identifier), "\(identifier) reached the procuratorate")
            }

            // The bureau: every answer of the police and the procuratorate.
            let bureau = try await delivered(http, "zz-epb", case: caseID)
            #expect(Set(bureau.keys) == ["casehub.crime.receipt-signed.v1", "casehub.crime.filing-decided.v1", "casehub.crime.explanation-requested.v1"])

            // Every party sees the whole case (the rule's crime-transfer views are all "all").
            for agency in ["zz-epb", "zz-psb", "zz-procuratorate"] {
                let seen = try await view(http, agency, caseID)
                #expect(seen["status"] == "explanation-requested" && !Self.has(seen, "withheld"), "\(agency): \(seen)")
                #expect(seen["numbers"]?["zz-epb"] == "株环移〔2026〕12号")
            }

            // The change feed: every accepted event, without the suspects' identifiers.
            let changes = try await Self.records(on: stack.configuration.topics.changes, stack, until: { $0.contains { $0.header("ce_type")?.stringValue == "casehub.crime.explanation-requested.v1" && $0.keyString == caseID } })
            let transferred = try #require(changes.first { $0.header("ce_type")?.stringValue == "casehub.crime.transferred.v1" && $0.keyString == caseID })
            let fed = String(decoding: transferred.value, as: UTF8.self)
            #expect(fed.contains("张某") && !fed.contains("43020019800101123X") && !fed.contains("13800000000"), "\(fed)")
            #expect(transferred.header("ce_disclosure")?.stringValue == "partial")
        }
    }

    /// 纪检监察: the commission receives the clue whole, the officials' names
    /// included; the referring bureau receives the feedback and nothing of the
    /// commission's handling: no disposal, verification, review or sanction,
    /// none of their document numbers, and a case view without the status,
    /// the commission's numbers or its clocks but the two owed to the referrer.
    @Test func theReferrerOfAClueLearnsTheOutcomeNotTheCommissionsHandling() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-cdi"]) { _, http, _ in
            let caseID = TestEnvironment.caseID("clue", openedBy: "zz-epb")
            let at = Self.times(6)
            #expect(try await rules.step(http, "accountability.clue-referred", by: "zz-epb", case: caseID, at: at[0], [
                "commission": "zz-cdi", "summary": "对企业长期超标排放监管不力", "officials": [["name": "李某", "position": "某分局局长"]],
            ]) == "accepted")
            #expect(try await rules.step(http, "accountability.disposal-chosen", by: "zz-cdi", case: caseID, at: at[1],
                                         ["disposal": "preliminary-verification"]) == "accepted")
            #expect(try await rules.step(http, "accountability.verification-concluded", by: "zz-cdi", case: caseID, at: at[2],
                                         ["finding": "substantiated", "summary": "核实属实"]) == "accepted")
            #expect(try await rules.step(http, "accountability.review-filed", by: "zz-cdi", case: caseID, at: at[3],
                                         ["documentNumber": "株纪立〔2026〕9号"]) == "accepted")
            #expect(try await rules.step(http, "accountability.sanction-decided", by: "zz-cdi", case: caseID, at: at[4],
                                         ["measures": ["major-demerit"], "documentNumber": "株纪处〔2026〕3号"]) == "accepted")
            #expect(try await rules.step(http, "accountability.feedback-sent", by: "zz-cdi", case: caseID, at: at[5],
                                         ["referrer": "zz-epb", "summary": "已对相关责任人作出处理"]) == "accepted")
            try await http.waitForEvent("zz-epb", type: "casehub.accountability.feedback-sent.v1", subject: caseID)

            let commission = try await delivered(http, "zz-cdi", case: caseID)
            #expect(commission["casehub.accountability.clue-referred.v1"]?["data"]?["officials"]?[0]?["name"] == "李某")

            // The referrer: the feedback, and nothing else of the case but its own receipts.
            let referrer = try await delivered(http, "zz-epb", case: caseID)
            #expect(Array(referrer.keys) == ["casehub.accountability.feedback-sent.v1"], "\(referrer.keys.sorted())")
            #expect(referrer["casehub.accountability.feedback-sent.v1"]?["data"]?["summary"] == "已对相关责任人作出处理")
            let referrerText = try await inboxText(http, "zz-epb")
            for secret in ["株纪立", "株纪处", "major-demerit", "核实属实", "preliminary-verification"] {
                #expect(!referrerText.contains(secret), "\(secret) reached the referrer")
            }

            let referrerView = try await view(http, "zz-epb", caseID)
            #expect(!Self.has(referrerView, "status") && !Self.has(referrerView, "version") && !Self.has(referrerView, "links"), "\(referrerView)")
            #expect(referrerView["withheld"] == ["status", "version", "updatedAt", "links"], "\(referrerView)")
            #expect(referrerView["numbers"] == [:] && Self.has(referrerView, "parties") && referrerView["holder"] == "zz-epb")
            #expect(Set(referrerView["deadlines"]?.arrayValue?.compactMap { $0["rule"]?.stringValue } ?? []) == ["accountability.disposal", "accountability.feedback"])
            #expect(!referrerView.canonicalString.contains("株纪"))

            let commissionView = try await view(http, "zz-cdi", caseID)
            #expect(commissionView["status"] == "decided" && commissionView["numbers"]?["zz-cdi"] == "株纪处〔2026〕3号", "\(commissionView)")
            #expect(!Self.has(commissionView, "withheld"))
        }
    }

    /// The commission chose a letter inquiry in July and the reply is long
    /// overdue: the commission hears of it; the referrer, whose view does not
    /// show that clock, hears nothing that would tell it an inquiry was chosen.
    @Test func theReferrerHearsNoNoticeOfTheCommissionsInquiry() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-cdi"], arrivals: .atDeclaredTimes) { _, http, _ in
            let caseID = TestEnvironment.caseID("inquiry", openedBy: "zz-epb")
            #expect(try await rules.step(http, "accountability.clue-referred", by: "zz-epb", case: caseID, at: "2026-07-01T09:00:00+08:00", [
                "commission": "zz-cdi", "summary": "监管不力", "officials": [["name": "王某", "position": "某科科长"]],
            ]) == "accepted")
            #expect(try await rules.step(http, "accountability.disposal-chosen", by: "zz-cdi", case: caseID, at: "2026-07-02T09:00:00+08:00",
                                         ["disposal": "talk-or-letter-inquiry"]) == "accepted")
            http.letTimePass()
            func notices(_ agency: String) async throws -> Set<String> {
                let (_, body) = try await http.send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000", nil)
                return Set((body["events"]?.arrayValue ?? []).compactMap { item in
                    guard item["event"]?["subject"]?.stringValue == caseID, item["event"]?["type"]?.stringValue?.hasPrefix("casehub.hub.deadline") == true
                    else { return nil }
                    return item["event"]?["data"]?["rule"]?.stringValue
                })
            }
            #expect(await eventually(timeout: .seconds(30)) { (try? await notices("zz-cdi"))?.contains("accountability.inquiry-reply") == true })
            // The clocks the referrer may see are noticed to it too (the commission's disposal was met; its feedback is due in three months).
            try await Task.sleep(for: .seconds(1))
            #expect(try await notices("zz-epb").contains("accountability.inquiry-reply") == false)
            #expect(try await notices("zz-epb").contains("accountability.feedback"), "the referrer hears of the feedback it is owed")
        }
    }

    /// 行政公益诉讼: the administrative organ receives the filing and the
    /// recommendation whole, learns only that a follow-up was recorded, and
    /// nothing of the recommendation's record with the upper procuratorate,
    /// whose clock its case view does not show.
    @Test func theAdministrativeOrganLearnsOnlyThatAFollowUpWasRecorded() async throws {
        // Played at the declared times: a receipt dated before the hub received the recommendation would be refused.
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], arrivals: .atDeclaredTimes) { _, http, _ in
            let caseID = TestEnvironment.caseID("pil-need-to-know", openedBy: "zz-procuratorate")
            let at = Self.times(7)
            #expect(try await rules.step(http, "pil.clue-registered", by: "zz-procuratorate", case: caseID, at: at[0],
                                         ["clueSource": "own-discovery", "summary": "排污口超标"]) == "accepted")
            #expect(try await rules.step(http, "pil.filed", by: "zz-procuratorate", case: caseID, at: at[1],
                                         ["documentNumber": "株检行公立〔2026〕21号", "agency": "zz-epb"]) == "accepted")
            #expect(try await rules.step(http, "pil.recommendation-issued", by: "zz-procuratorate", case: caseID, at: at[2], [
                "documentNumber": "株检行公建〔2026〕21号", "agency": "zz-epb", "urgent": false, "recommendations": ["依法履行监管职责"],
            ]) == "accepted")
            try await http.waitForEvent("zz-epb", type: "casehub.pil.recommendation-issued.v1", subject: caseID)
            #expect(try await rules.step(http, "pil.recommendation-received", by: "zz-epb", case: caseID, at: at[3], ["receivedAt": .string(at[3])]) == "accepted")
            #expect(try await rules.step(http, "pil.recommendation-recorded", by: "zz-procuratorate", case: caseID, at: at[4],
                                         ["upperProcuratorate": "zz-procuratorate"]) == "accepted")
            #expect(try await rules.step(http, "pil.reply-submitted", by: "zz-epb", case: caseID, at: at[5],
                                         ["rectified": false, "measures": ["已约谈企业"]]) == "accepted")
            #expect(try await rules.step(http, "pil.follow-up-recorded", by: "zz-procuratorate", case: caseID, at: at[6],
                                         ["agencyStillFailing": true, "harmContinuing": true, "findings": "排污口仍在排放，监测超标两倍"]) == "accepted")
            try await http.waitForEvent("zz-epb", type: "casehub.pil.follow-up-recorded.v1", subject: caseID)

            let organ = try await delivered(http, "zz-epb", case: caseID)
            #expect(organ["casehub.pil.recommendation-issued.v1"]?["data"]?["recommendations"]?[0] == "依法履行监管职责")
            #expect(organ["casehub.pil.filed.v1"]?["data"]?["documentNumber"] == "株检行公立〔2026〕21号")
            #expect(!organ.keys.contains("casehub.pil.recommendation-recorded.v1"))
            #expect(organ["casehub.pil.follow-up-recorded.v1"]?["data"] == [:])
            #expect(!(try await inboxText(http, "zz-epb")).contains("两倍"))
            let procuratorate = try await delivered(http, "zz-procuratorate", case: caseID)
            #expect(procuratorate.keys.contains("casehub.pil.recommendation-received.v1"))
            #expect(procuratorate["casehub.pil.reply-submitted.v1"]?["data"]?["measures"]?[0] == "已约谈企业")

            let organView = try await view(http, "zz-epb", caseID)
            let rulesSeen = Set(organView["deadlines"]?.arrayValue?.compactMap { $0["rule"]?.stringValue } ?? [])
            #expect(rulesSeen.contains("pil.reply") && !rulesSeen.contains("pil.recommendation-record"), "\(rulesSeen)")
            #expect(organView["status"] == "follow-up" && !Self.has(organView, "withheld"))
            let holderView = try await view(http, "zz-procuratorate", caseID)
            #expect((holderView["deadlines"]?.arrayValue ?? []).contains { $0["rule"] == "pil.recommendation-record" })
        }
    }

    /// Records on `topic` from its start, read until `done` says enough (or 60 s).
    static func records(on topic: String, _ stack: CaseHubStack, until done: ([KafkaMessage]) -> Bool) async throws -> [KafkaMessage] {
        var configuration = KafkaConsumerConfiguration(connection: stack.configuration.kafka, groupID: TestEnvironment.uniqueName("reader"))
        configuration.sessionTimeoutMilliseconds = 6_000
        configuration.connection.properties["heartbeat.interval.ms"] = "500"
        let consumer = try KafkaConsumer(configuration: configuration, logger: Logger(label: "test.reader"))
        try consumer.subscribe(topics: [topic])
        var read: [KafkaMessage] = []
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, !done(read) {
            read += try await consumer.nextBatch(maxMessages: 500, maxWaitMilliseconds: 200)
        }
        await consumer.close()
        return read
    }
}
