import CaseHubServer
import CaseModel
import Crypto
import Foundation
import Hub
import HubStore
import Kafka
import Logging
import Postgres
import TestSupport
import Testing

/// The hub signs what it routes: an agency's adapter stores only records of
/// its `to.` topic that carry the hub's signature. Records produced straight
/// onto the topic (unsigned, signed with another key, a genuine record
/// altered or copied from another agency's topic) are refused and reported,
/// and reach neither the inbox nor the file drop (nor so the webhooks, which
/// push only what the inbox holds).
@Suite(.serialized)
struct ForgedDeliveryTests {
    func files(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    static func message(_ event: CloudEvent, to topic: String, extra: [KafkaHeader] = []) -> KafkaOutgoingMessage {
        KafkaOutgoingMessage(topic: topic, key: event.subject, value: event.binaryValue,
                             headers: event.binaryHeaders.map { KafkaHeader(key: $0.name, string: $0.value) } + extra)
    }

    @Test func onlyWhatTheHubSignedReachesAnAgency() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("drop"))
        defer { try? FileManager.default.removeItem(at: root) }
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], configure: { $0.fileDropDirectory = root.path }) { stack, http, database in
            let topics = stack.configuration.topics
            let incoming = root.appendingPathComponent("zz-procuratorate/incoming")
            // A genuine routed record is accepted: inbox and file drop.
            let genuineCase = TestEnvironment.caseID("genuine", openedBy: "zz-epb")
            #expect(try await ProcedureRulesTests().step(http, "referral.submitted", by: "zz-epb", case: genuineCase, at: RFC3339.format(Date()),
                                                          ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "真实线索"]) == "accepted")
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: genuineCase)
            #expect(await eventually(timeout: .seconds(30)) { files(incoming).contains { $0.contains("referral.submitted") } })
            // What the hub put on the procuratorate's topic, as Kafka carries it.
            let routed = try await NeedToKnowTests.records(on: topics.to("zz-procuratorate"), stack) { read in
                read.contains { $0.keyString == genuineCase && $0.header("ce_type")?.stringValue == "casehub.referral.submitted.v1" }
            }
            let genuine = try #require(routed.first { $0.keyString == genuineCase && $0.header("ce_type")?.stringValue == "casehub.referral.submitted.v1" })
            let signature = try #require(genuine.header(DeliverySignature.header)?.stringValue)
            let keys = try await HubKeyStore(client: database).keys()
            #expect(keys[String(signature.prefix { $0 != ":" })] != nil, "signed with a key the hub recorded: \(signature)")

            // The forgeries, each claiming to come from the bureau.
            let marker = TestEnvironment.uniqueName("forged")
            func forgedEvent(_ name: String, type: EventType = .referralSubmitted) -> CloudEvent {
                CloudEvent(source: "zz-epb", type: type, time: Date(), subject: "zz-epb:\(marker)-\(name)",
                           data: ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": .string("伪造 \(name)")])
            }
            let unsigned = forgedEvent("unsigned")
            // Signed as the hub signs, with a key that is not the hub's.
            let otherKey = Curve25519.Signing.PrivateKey()
            let impostor = forgedEvent("other-key")
            var signedByOther = Self.message(impostor, to: topics.to("zz-procuratorate"))
            let input = DeliverySignature.signingInput(topic: signedByOther.topic, key: signedByOther.key,
                                                       headers: signedByOther.headers.map { ($0.key, $0.value) }, value: signedByOther.value)
            signedByOther.headers.append(KafkaHeader(key: DeliverySignature.header, string: try DeliverySignature.sign(input, with: otherKey)))
            // The genuine record with its value altered (and a new id, so that it is no re-delivery).
            let alteredID = EventID()
            let altered = KafkaOutgoingMessage(topic: genuine.topic, key: genuine.key, value: Array(#"{"receiver":"zz-procuratorate","referralKind":"clue","summary":"篡改"}"#.utf8),
                                               headers: genuine.headers.map { $0.key == "ce_id" ? KafkaHeader(key: "ce_id", string: alteredID.description) : $0 })
            // The genuine record as it is, copied onto the bureau's own topic: signed for another topic.
            let copied = KafkaOutgoingMessage(topic: topics.to("zz-epb"), key: genuine.key, value: genuine.value, headers: genuine.headers)
            // A type shaped as a path (FileDropTests plays it past this check): refused before any file is named.
            let pathType = forgedEvent("path", type: EventType(rawValue: "../../../\(marker)"))
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: stack.configuration.kafka), logger: Logger(label: "test.forger"))
            let results = try await producer.sendBatch([
                Self.message(unsigned, to: topics.to("zz-procuratorate")), signedByOther, altered, copied,
                Self.message(pathType, to: topics.to("zz-procuratorate")),
            ])
            await producer.shutdown()
            #expect(results.allSatisfy { (try? $0.get()) != nil }, "the broker took them all: only the adapters stand in the way")

            // Refused and reported, for administrators: one refusal each, with where it was and what it claimed.
            var filter = AdminQueries.RejectionFilter()
            filter.stage = .adapter
            var refusals: [AdminQueries.Rejection] = []
            #expect(await eventually(timeout: .seconds(60)) {
                refusals = (try? await AdminQueries(client: database).rejectionPage(filter)) ?? []
                return refusals.count >= 5
            }, "\(refusals.map(\.code))")
            #expect(refusals.count == 5)
            let byCase = Dictionary(grouping: refusals, by: { $0.caseID ?? "-" })
            #expect(byCase["zz-epb:\(marker)-unsigned"]?.map(\.code) == [RefusalCode.adapterDeliveryUnsigned.rawValue])
            #expect(byCase["zz-epb:\(marker)-other-key"]?.map(\.code) == [RefusalCode.adapterDeliveryForged.rawValue])
            #expect(byCase["zz-epb:\(marker)-path"]?.map(\.code) == [RefusalCode.adapterDeliveryUnsigned.rawValue])
            let onGenuineCase = byCase[genuineCase] ?? []
            #expect(Set(onGenuineCase.map(\.code)) == [RefusalCode.adapterDeliveryForged.rawValue] && onGenuineCase.count == 2)
            #expect(Set(onGenuineCase.compactMap(\.source)) == ["zz-procuratorate", "zz-epb"], "the altered one on the procuratorate's topic, the copy on the bureau's")
            for refusal in refusals {
                #expect(refusal.topic == topics.to(AgencyID(rawValue: refusal.source ?? "")!) && refusal.httpStatus == nil)
                #expect(refusal.request?.hasPrefix("consume \(refusal.topic ?? "")") == true && refusal.bodyStored)
            }
            #expect(refusals.first { $0.source == "zz-procuratorate" && $0.caseID != genuineCase }?.claimedAgency == "zz-epb")
            // The administrators' API lists them too.
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "test", by: .administrator("test"))
            let (status, listed) = try await http.send("GET", "/v1/rejections?stage=adapter&code=\(RefusalCode.adapterDeliveryForged.rawValue)", nil, bearer: .token(admin))
            #expect(status == 200 && listed["rejections"]?.arrayValue?.count == 3, "\(listed)")

            // Nothing of them reached an inbox or a file.
            let stored = try await database.query("SELECT event_id FROM deliveries WHERE event_id = ANY(\(PostgresArray([unsigned.id.description, impostor.id.description, alteredID.description, pathType.id.description].map(Optional.init))))")
            #expect(stored.count == 0)
            let copiesToBureau = try await database.query("SELECT count(*) AS n FROM deliveries WHERE agency = 'zz-epb' AND type = 'casehub.referral.submitted.v1'")
            #expect(try copiesToBureau[0].decode("n", as: Int.self) == 0)
            #expect(!(try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox?after=0&limit=1000", nil).1.canonicalString).contains(marker))
            let everywhere = try FileManager.default.subpathsOfDirectory(atPath: root.path)
            #expect(!everywhere.contains { $0.contains(marker) || $0.contains(alteredID.description) }, "\(everywhere)")
            #expect(!(try FileManager.default.contentsOfDirectory(atPath: root.deletingLastPathComponent().path)).contains { $0.contains(marker) })

            // Counted, for the alert; and the deliveries after them still arrive.
            let metrics = try await MetricsTests().scrape(http.port, token: admin)
            #expect(metrics.contains("casehub_deliveries_refused_total 5"), "\(metrics.split(separator: "\n").filter { $0.contains("refused") })")
            let later = TestEnvironment.caseID("after-forged", openedBy: "zz-epb")
            #expect(try await ProcedureRulesTests().step(http, "referral.submitted", by: "zz-epb", case: later, at: RFC3339.format(Date()),
                                                          ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "后续线索"]) == "accepted")
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: later)
        }
    }

    /// An adapter given the hub's public key (`casehub adapter --hub-public-key`)
    /// trusts that key alone: deliveries signed by a hub key it was not given
    /// are refused, even though the hub recorded that key in the database.
    @Test func anAdapterPinnedToAnotherKeyRefusesTheHubsDeliveries() async throws {
        let pinned = Curve25519.Signing.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], configure: { $0.hubPublicKeys = [pinned] }) { _, http, database in
            let caseID = TestEnvironment.caseID("pinned", openedBy: "zz-epb")
            let id = try await ProcedureOpeningTests().post(http, AdminAPITests.event(
                "referral.submitted", by: "zz-epb", case: caseID, at: RFC3339.format(Date()),
                ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"]), as: "zz-epb")
            var filter = AdminQueries.RejectionFilter()
            filter.stage = .adapter
            var refusals: [AdminQueries.Rejection] = []
            // The receipt to the bureau and the delivery to the procuratorate: both signed with the hub's key, both refused.
            #expect(await eventually(timeout: .seconds(60)) {
                refusals = (try? await AdminQueries(client: database).rejectionPage(filter)) ?? []
                return refusals.count >= 2
            })
            #expect(Set(refusals.map(\.code)) == [RefusalCode.adapterDeliveryForged.rawValue])
            #expect(Set(refusals.compactMap(\.source)) == ["zz-epb", "zz-procuratorate"])
            #expect(refusals.allSatisfy { $0.reason.contains("not a hub key this adapter trusts") }, "\(refusals.map(\.reason))")
            let stored = try await database.query("SELECT count(*) AS n FROM deliveries")
            #expect(try stored[0].decode("n", as: Int.self) == 0, "nothing stored, not even the receipt of \(id)")
        }
    }

    /// Configured with the hub's own public key, the adapters take its deliveries.
    @Test func anAdapterPinnedToTheHubsKeyTakesItsDeliveries() async throws {
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("hub-key")).path
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        let hubKey = try HubSigningKey.loadOrCreate(at: keyFile)
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], configure: {
            $0.hubKeyFile = keyFile
            $0.hubPublicKeys = [hubKey.publicKey.rawRepresentation.base64EncodedString()]
        }) { _, http, database in
            let caseID = TestEnvironment.caseID("pinned-right", openedBy: "zz-epb")
            #expect(try await ProcedureRulesTests().step(http, "referral.submitted", by: "zz-epb", case: caseID, at: RFC3339.format(Date()),
                                                          ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"]) == "accepted")
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: caseID)
            let refused = try await database.query("SELECT count(*) AS n FROM rejections WHERE stage = 'adapter'")
            #expect(try refused[0].decode("n", as: Int.self) == 0)
        }
    }
}
