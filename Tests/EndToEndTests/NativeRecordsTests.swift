import CaseHubServer
import CaseModel
import Foundation
import NIOConcurrencyHelpers
import Postgres
import TestSupport
import Testing

/// Native records of each agency kind, POSTed to `/records` as the agencies'
/// systems would send them (the samples under Schemas/native), travel through
/// the hub to the counterpart agency by every transport — its inbox, its
/// webhook and its file drop; each sender gets its receipts.
@Suite(.serialized)
struct NativeRecordsTests {
    /// Every agency of the story with a webhook receiver and a file drop.
    struct Transports {
        let dropRoot = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("drop"))
        var receivers: [String: WebhookTests.Receiver] = [:]

        static func make(_ agencies: [AgencyID]) async throws -> Transports {
            var transports = Transports()
            for agency in agencies { transports.receivers[agency.rawValue] = try await WebhookTests.Receiver(failures: 0) }
            return transports
        }

        func register(_ http: HTTPClient) async throws {
            for (agency, receiver) in receivers {
                let (status, _) = try await http.send("PUT", "/v1/agencies/\(agency)/webhook", ["url": .string("http://127.0.0.1:\(receiver.port)/hook")])
                #expect(status == 200)
            }
        }

        /// The event reached the agency's inbox, webhook and incoming folder.
        func expectDelivered(_ http: HTTPClient, type: String, subject: String, to agency: String) async throws {
            try await http.waitForEvent(agency, type: type, subject: subject)
            let pushed = await eventually(timeout: .seconds(30)) {
                receivers[agency]!.received.withLockedValue { pushes in
                    pushes.contains { (try? JSONValue.parse($0.body)).map { $0["type"] == .string(type) && $0["subject"] == .string(subject) } ?? false }
                }
            }
            #expect(pushed, "\(type) for \(subject) was not pushed to \(agency)'s webhook")
            let incoming = dropRoot.appendingPathComponent("\(agency)/incoming")
            let written = await eventually(timeout: .seconds(30)) {
                ((try? FileManager.default.contentsOfDirectory(atPath: incoming.path)) ?? []).contains { name in
                    name.contains(type) && ((try? Data(contentsOf: incoming.appendingPathComponent(name)))
                        .flatMap { try? JSONValue.parse(Array($0)) }?["subject"] == .string(subject))
                }
            }
            #expect(written, "\(type) for \(subject) was not written to \(agency)'s incoming folder")
        }

        func stop() async {
            for receiver in receivers.values { await receiver.stop() }
            try? FileManager.default.removeItem(at: dropRoot)
        }
    }

    /// Submits one sample with the case ids made unique to this run.
    func submit(_ http: HTTPClient, kind: AgencyKind, _ name: String, as agency: String, prefix: String,
                expect status: Int = 202) async throws -> JSONValue {
        let sample = try #require(try NativeMappingTests.samples(kind).first { $0.name == name })
        let text = String(decoding: sample.bytes, as: UTF8.self).replacingOccurrences(of: "zz-sample", with: prefix)
        let (got, body) = try await http.sendRaw("POST", "/v1/agencies/\(agency)/records", Array(text.utf8),
                                                 contentType: sample.isXML ? "application/xml" : "application/json")
        #expect(got == status, "\(name): \(body)")
        return body
    }

    func acceptedReceipts(_ http: HTTPClient, _ agency: String, atLeast count: Int) async throws -> Int {
        let deadline = ContinuousClock.now + .seconds(60)
        var accepted = 0
        while ContinuousClock.now < deadline {
            let events = try await http.waitForInbox(agency, count: count, timeout: .seconds(5))
            accepted = events.filter { $0["event"]?["type"] == "casehub.hub.receipt.v1" && $0["event"]?["data"]?["outcome"] == "accepted" }.count
            if accepted >= count { break }
        }
        return accepted
    }

    @Test func bureauAndCourtThroughACompensationSuit() async throws {
        let transports = try await Transports.make(["zz-epb", "zz-court"])
        try await withRunningStack(agencies: ["zz-epb", "zz-court"], configure: { $0.fileDropDirectory = transports.dropRoot.path }) { _, http, _ in
            try await transports.register(http)
            let prefix = TestEnvironment.uniqueName("native")
            let caseID = "zz-epb:\(prefix)-compensation-7"
            for name in ["01-DAMAGE_ASSESSMENT.json", "02-COMPENSATION_CONSULTATION.json", "03-CONSULTATION_FAILED.json", "04-COMPENSATION_SUIT.json"] {
                let body = try await submit(http, kind: .environmentBureau, name, as: "zz-epb", prefix: prefix)
                #expect(body["events"]?[0]?["subject"] == .string(caseID))
            }
            // The court learns of the suit, then files it from its own system (XML).
            try await transports.expectDelivered(http, type: "casehub.compensation.suit-filed.v1", subject: caseID, to: "zz-court")
            let filed = try await submit(http, kind: .court, "01-LA.xml", as: "zz-court", prefix: prefix)
            #expect(filed["record"]?["type"] == "LA")
            #expect(filed["events"]?[0]?["type"] == "casehub.litigation.accepted.v1")
            try await transports.expectDelivered(http, type: "casehub.litigation.accepted.v1", subject: caseID, to: "zz-epb")
            _ = try await submit(http, kind: .court, "02-KT.xml", as: "zz-court", prefix: prefix)
            try await http.waitForEvent("zz-epb", type: "casehub.litigation.hearing-scheduled.v1", subject: caseID)
            #expect(try await acceptedReceipts(http, "zz-court", atLeast: 2) >= 2)
            #expect(try await acceptedReceipts(http, "zz-epb", atLeast: 4) >= 4)

            // The same record again is a retry; the same record number with other content a conflict.
            _ = try await submit(http, kind: .court, "02-KT.xml", as: "zz-court", prefix: prefix)
            let sample = try #require(try NativeMappingTests.samples(.court).first { $0.name == "02-KT.xml" })
            let changed = String(decoding: sample.bytes, as: UTF8.self).replacingOccurrences(of: "zz-sample", with: prefix)
                .replacingOccurrences(of: "第三法庭", with: "第五法庭")
            let (conflict, _) = try await http.sendRaw("POST", "/v1/agencies/zz-court/records", Array(changed.utf8), contentType: "application/xml")
            #expect(conflict == 409)
        }
        await transports.stop()
    }

    @Test func procuratorateRecommendationReachesTheBureau() async throws {
        let transports = try await Transports.make(["zz-epb"])
        try await withRunningStack(agencies: ["zz-procuratorate", "zz-epb"], configure: { $0.fileDropDirectory = transports.dropRoot.path }) { _, http, _ in
            try await transports.register(http)
            let prefix = TestEnvironment.uniqueName("native")
            for name in ["01-GYXS.json", "02-LA.json", "03-LATZ.json", "04-JCJY.json"] {
                _ = try await submit(http, kind: .procuratorate, name, as: "zz-procuratorate", prefix: prefix)
            }
            try await transports.expectDelivered(http, type: "casehub.pil.recommendation-issued.v1", subject: "zz-procuratorate:\(prefix)-pil-12", to: "zz-epb")
            #expect(try await acceptedReceipts(http, "zz-procuratorate", atLeast: 4) >= 4)
        }
        await transports.stop()
    }

    @Test func bureauClueAndCommissionDisposal() async throws {
        let transports = try await Transports.make(["zz-epb", "zz-cdi"])
        try await withRunningStack(agencies: ["zz-epb", "zz-cdi"], configure: { $0.fileDropDirectory = transports.dropRoot.path }) { _, http, _ in
            try await transports.register(http)
            let prefix = TestEnvironment.uniqueName("native")
            let caseID = "zz-epb:\(prefix)-accountability-3"
            _ = try await submit(http, kind: .environmentBureau, "05-OFFICIAL_CLUE.json", as: "zz-epb", prefix: prefix)
            try await transports.expectDelivered(http, type: "casehub.accountability.clue-referred.v1", subject: caseID, to: "zz-cdi")
            // 线索受理 has no canonical event: acknowledged with a note, nothing sent.
            let received = try await submit(http, kind: .disciplineCommission, "01-XSSL.json", as: "zz-cdi", prefix: prefix, expect: 200)
            #expect(received["events"] == [])
            #expect(received["record"]?["note"]?.stringValue?.isEmpty == false)
            _ = try await submit(http, kind: .disciplineCommission, "02-CZ.json", as: "zz-cdi", prefix: prefix)
            _ = try await submit(http, kind: .disciplineCommission, "03-CH.json", as: "zz-cdi", prefix: prefix)
            // Both accepted; the referring bureau is owed the outcome, not the commission's
            // handling (Schemas/disclosure.json): neither step reaches it.
            #expect(try await acceptedReceipts(http, "zz-cdi", atLeast: 2) >= 2)
            let (_, bureau) = try await http.send("GET", "/v1/agencies/zz-epb/inbox?after=0&limit=1000", nil)
            let handling = (bureau["events"]?.arrayValue ?? []).filter {
                $0["event"]?["subject"]?.stringValue == caseID && $0["event"]?["type"]?.stringValue?.hasPrefix("casehub.accountability.") == true
            }
            #expect(handling.isEmpty, "\(handling)")
        }
        await transports.stop()
    }

    @Test func badRecordsGetPreciseProblemsAndChangeNothing() async throws {
        try await withRunningStack(agencies: ["zz-court", "zz-psb"]) { _, http, database in
            func post(_ agency: String, _ text: String, xml: Bool = true) async throws -> (Int, JSONValue) {
                try await http.sendRaw("POST", "/v1/agencies/\(agency)/records", Array(text.utf8), contentType: xml ? "application/xml" : "application/json")
            }
            let (malformed, malformedBody) = try await post("zz-court", "<record><JLLX>LA</record>")
            #expect(malformed == 400)
            #expect(malformedBody["title"] == "Malformed XML")
            let (invalid, invalidBody) = try await post("zz-court", "<record><JLLX>LA</JLLX><JLBH>1</JLBH><TYAJBS>c</TYAJBS><AH>123</AH><LARQ>x</LARQ><AY>y</AY></record>")
            #expect(invalid == 422)
            #expect(Set(invalidBody["violations"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []) == ["/AH", "/LARQ"])
            let (json, _) = try await post("zz-court", "{\"JLLX\": ", xml: false)
            #expect(json == 400)
            // Police have no native table (yet): 404 that says so.
            let (unmapped, unmappedBody) = try await post("zz-psb", "{}", xml: false)
            #expect(unmapped == 404)
            #expect(unmappedBody["title"] == "No native mapping")
            #expect(try await database.query("SELECT 1 FROM adapter_submissions").isEmpty)
        }
    }
}
