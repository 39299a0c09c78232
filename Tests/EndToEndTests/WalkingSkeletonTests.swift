import Adapters
import CaseHubServer
import CaseModel
import Crypto
import Foundation
import HubStore
import Kafka
import Logging
import Postgres
import Testing
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
import HTTPCommon
#endif

/// An event POSTed to one agency's adapter travels over Kafka to the hub, is
/// recorded in PostgreSQL and reaches the addressed agency's inbox; the sender
/// gets a receipt. Real broker, real database, real HTTP.
@Suite(.serialized)
struct WalkingSkeletonTests {

    @Test func eventTravelsFromSenderToReceiverThroughTheHub() async throws {
        try await withRunningStack { stack, http, database in
            let eventID = UUID().uuidString.lowercased()
            let event: JSONValue = .object([
                "specversion": "1.0", "id": .string(eventID), "source": "zz-epb",
                "type": "casehub.referral.submitted.v1", "time": "2026-11-29T08:00:00+08:00",
                "subject": "zz-epb:case-e2e-1",
                "data": .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "湘江排污线索 <script>"]),
            ])
            let (status, body) = try await http.send("POST", "/v1/agencies/zz-epb/events", event)
            #expect(status == 202)
            #expect(body["accepted"] == .array([.string(eventID)]))

            // The receiver's inbox gets the event itself.
            let delivered = try await http.waitForInbox("zz-procuratorate", count: 1)
            let received = try #require(delivered.first)
            #expect(received["event"]?["id"] == .string(eventID))
            #expect(received["event"]?["data"]?["summary"] == "湘江排污线索 <script>")
            #expect(received["event"]?["time"] == "2026-11-29T00:00:00.000Z")

            // The sender gets an accepted receipt.
            let receipts = try await http.waitForInbox("zz-epb", count: 1)
            #expect(receipts.first?["event"]?["type"] == .string("casehub.hub.receipt.v1"))
            #expect(receipts.first?["event"]?["data"]?["outcome"] == "accepted")
            #expect(receipts.first?["event"]?["data"]?["eventId"] == .string(eventID))

            // Canonical state and audit trail in PostgreSQL.
            let cases = try await database.query("SELECT version, parties FROM cases WHERE id = 'zz-epb:case-e2e-1'")
            #expect(try cases[0].decode("version", as: Int.self) == 1)
            #expect(try cases[0].decode("parties", as: String.self) == "{zz-epb,zz-procuratorate}")
            let audit = try await database.query("SELECT outcome, event_id FROM case_events WHERE outcome <> 'admin' ORDER BY seq")
            #expect(audit.count == 1)
            #expect(try audit[0].decode("event_id", as: String.self) == eventID)
            #expect(await eventually { (try? await HubStore(client: database).outboxBacklog().count) == 0 })

            // The same event again is absorbed: no second delivery, no second audit entry.
            let (again, _) = try await http.send("POST", "/v1/agencies/zz-epb/events", event)
            #expect(again == 202)
            let second: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-epb",
                "type": "casehub.referral.submitted.v1", "time": "2026-11-29T09:00:00+08:00",
                "subject": "zz-epb:case-e2e-2", "data": .object(["receiver": "zz-procuratorate", "referralKind": "case-file", "summary": "移送"]),
            ])
            _ = try await http.send("POST", "/v1/agencies/zz-epb/events", second)
            let afterward = try await http.waitForInbox("zz-procuratorate", count: 2)
            #expect(afterward.count == 2)
            #expect(afterward.map { $0["event"]?["subject"] } == ["zz-epb:case-e2e-1", "zz-epb:case-e2e-2"])
            let accepted = try await database.query("SELECT count(*) AS n FROM case_events WHERE outcome = 'accepted'")
            #expect(try accepted[0].decode("n", as: Int.self) == 2)

            // The court is no party: its acceptance is refused, with a receipt that tells it no more than for a case that does not exist.
            let foreign: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-court",
                "type": "casehub.referral.accepted.v1", "time": "2026-11-29T10:00:00+08:00",
                "subject": "zz-epb:case-e2e-1", "data": .object(["receiverNumber": "x", "acceptedOn": "2026-11-29"]),
            ])
            let (foreignStatus, _) = try await http.send("POST", "/v1/agencies/zz-court/events", foreign)
            #expect(foreignStatus == 202)
            let courtReceipts = try await http.waitForInbox("zz-court", count: 1)
            #expect(courtReceipts.first?["event"]?["data"]?["outcome"] == "refused")
            #expect(courtReceipts.first?["event"]?["data"]?["code"] == "case.unknown")
            let state = try await database.query("SELECT status, state->'parties'->>'addressee' AS addressee FROM cases WHERE id = 'zz-epb:case-e2e-1'")
            #expect(try state[0].decode("status", as: String.self) == "submitted")
            #expect(try state[0].decode("addressee", as: String.self) == "zz-procuratorate")

            // Acknowledged deliveries leave the default inbox view.
            let cursor = try #require(afterward.last?["cursor"])
            let (ackStatus, ackBody) = try await http.send("POST", "/v1/agencies/zz-procuratorate/inbox/ack", .object(["cursor": cursor]))
            #expect(ackStatus == 200)
            #expect(ackBody["acknowledged"] == .integer(2))
            let (_, remaining) = try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox", nil)
            #expect(remaining["events"] == .array([]))
        }
    }

    @Test func invalidSubmissionsAreRefusedWithProblemDetails() async throws {
        try await withRunningStack { stack, http, database in
            let (malformed, malformedBody) = try await http.sendRaw("POST", "/v1/agencies/zz-epb/events", Array("{not json".utf8))
            #expect(malformed == 400)
            #expect(malformedBody["title"] == "Malformed JSON")

            let wrongSource: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-court",
                "type": "casehub.referral.submitted.v1", "time": "2026-11-29T08:00:00Z",
                "subject": "case-x", "data": .object([:]),
            ])
            let (status, body) = try await http.send("POST", "/v1/agencies/zz-epb/events", .array([wrongSource, .object(["id": "nope"])]))
            #expect(status == 422)
            let paths = body["violations"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
            #expect(paths.contains("/0/source"))
            #expect(paths.contains("/1/id"))
            #expect(paths.contains("/1/specversion"))

            let (unknown, _) = try await http.send("POST", "/v1/agencies/zz-psb/events", wrongSource)
            #expect(unknown == 404)

            // The payload is checked against its type's schema before it is published.
            let badPayload: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-epb",
                "type": "casehub.referral.submitted.v1", "time": "2026-11-29T08:00:00Z",
                "subject": "case-y", "data": .object(["receiver": "ZZ Court", "referralKind": "gossip"]),
            ])
            let (schemaStatus, schemaBody) = try await http.send("POST", "/v1/agencies/zz-epb/events", badPayload)
            #expect(schemaStatus == 422)
            let schemaPaths = Set(schemaBody["violations"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? [])
            #expect(schemaPaths == ["/data/receiver", "/data/referralKind", "/data/summary"])
            let unknownType: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString), "source": "zz-epb",
                "type": "casehub.referral.teleported.v1", "time": "2026-11-29T08:00:00Z", "subject": "case-y", "data": .object([:]),
            ])
            let (typeStatus, typeBody) = try await http.send("POST", "/v1/agencies/zz-epb/events", unknownType)
            #expect(typeStatus == 422)
            #expect(typeBody["violations"]?[0]?["path"] == "/type")
            // A body over the limit: 413 before anything is read as JSON.
            let (tooLarge, tooLargeBody) = try await http.sendRaw("POST", "/v1/agencies/zz-epb/events",
                                                                  Array(repeating: UInt8(ascii: " "), count: 5 << 20))
            #expect(tooLarge == 413)
            #expect(tooLargeBody["title"] == "Body too large")
            // Nothing reached the hub.
            try await Task.sleep(for: .milliseconds(500))
            let audit = try await database.query("SELECT count(*) AS n FROM case_events WHERE outcome <> 'admin'")
            #expect(try audit[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func hubRefusesAnEventWhoseSourceIsNotItsTopicsAgency() async throws {
        try await withRunningStack { stack, http, database in
            // Straight onto zz-epb's topic, claiming to be the court: only the hub can catch this.
            let event = CloudEvent(source: "zz-court", type: "casehub.referral.submitted.v1",
                                   time: Date(), subject: "case-forged",
                                   data: .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "x"]))
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: stack.configuration.kafka), logger: Logger(label: "test"))
            _ = try await producer.send(KafkaOutgoingMessage(
                topic: stack.configuration.topics.from("zz-epb"), key: event.subject, value: event.binaryValue,
                headers: event.binaryHeaders.map { KafkaHeader(key: $0.name, string: $0.value) }))
            await producer.shutdown()

            let receipts = try await http.waitForInbox("zz-epb", count: 1)
            #expect(receipts.first?["event"]?["data"]?["outcome"] == "refused")
            #expect(receipts.first?["event"]?["data"]?["code"] == "sender.mismatch")
            let rejections = try await database.query("SELECT code, source FROM rejections")
            #expect(rejections.count == 1)
            #expect(try rejections[0].decode("code", as: String.self) == "sender.mismatch")
            #expect(try rejections[0].decode("source", as: String.self) == "zz-epb")
            let cases = try await database.query("SELECT count(*) AS n FROM cases")
            #expect(try cases[0].decode("n", as: Int.self) == 0)
            let (_, procuratorate) = try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox", nil)
            #expect(procuratorate["events"] == .array([]))
        }
    }

    @Test func hubRefusesUnsignedAndForgedEvents() async throws {
        try await withRunningStack { stack, http, database in
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: stack.configuration.kafka), logger: Logger(label: "test"))
            func publish(_ event: CloudEvent) async throws {
                _ = try await producer.send(KafkaOutgoingMessage(
                    topic: stack.configuration.topics.from("zz-epb"), key: event.subject, value: event.binaryValue,
                    headers: event.binaryHeaders.map { KafkaHeader(key: $0.name, string: $0.value) }))
            }
            let unsigned = CloudEvent(source: "zz-epb", type: "casehub.referral.submitted.v1",
                                      time: Date(), subject: "case-unsigned",
                                      data: .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "x"]))
            try await publish(unsigned)
            // Signed, but with a key nobody registered for zz-epb.
            var forged = try EventSignature.sign(unsigned, with: Curve25519.Signing.PrivateKey())
            forged.id = EventID()
            forged = try EventSignature.sign(forged, with: Curve25519.Signing.PrivateKey())
            try await publish(forged)
            await producer.shutdown()

            let receipts = try await http.waitForInbox("zz-epb", count: 2)
            #expect(Set(receipts.compactMap { $0["event"]?["data"]?["code"]?.stringValue }) == ["signature.missing", "signature.unknown-key"])
            let cases = try await database.query("SELECT count(*) AS n FROM cases")
            #expect(try cases[0].decode("n", as: Int.self) == 0)
            // The forged event did not claim the id: the inbox holds nothing.
            let inbox = try await database.query("SELECT count(*) AS n FROM inbox")
            #expect(try inbox[0].decode("n", as: Int.self) == 0)
        }
    }

    @Test func aPoisonEventIsRefusedAloneAndItsBatchMatesGoThrough() async throws {
        try await withRunningStack { stack, http, database in
            func referral(_ caseID: String, summary: String) -> CloudEvent {
                CloudEvent(source: "zz-epb", type: "casehub.referral.submitted.v1", time: Date(),
                           subject: caseID, data: .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": .string(summary)]))
            }
            // Valid JSON, signature and schema, but PostgreSQL cannot store U+0000 in jsonb: the audit write fails.
            // (The adapters refuse such text; this comes straight onto the topic, signed with the bureau's key.)
            let keys = try await SigningKeys.load(agencies: ["zz-epb"], directory: URL(fileURLWithPath: stack.configuration.keyDirectory!),
                                                  store: AgencyKeyStore(client: database))
            let batch = try [referral("zz-epb:poison-a", summary: "ok"), referral("zz-epb:poison-b", summary: "bad\u{0}byte"), referral("zz-epb:poison-c", summary: "ok")]
                .map { try keys.sign($0) }
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(connection: stack.configuration.kafka), logger: Logger(label: "test.poison"))
            let results = try await producer.sendBatch(batch.map { event in
                KafkaOutgoingMessage(topic: stack.configuration.topics.from("zz-epb"), key: event.subject, value: event.binaryValue,
                                     headers: event.binaryHeaders.map { KafkaHeader(key: $0.name, string: $0.value) })
            })
            await producer.shutdown()
            #expect(results.allSatisfy { (try? $0.get()) != nil })
            // Through the adapter, the same text is refused at once.
            let (status, problem) = try await http.send("POST", "/v1/agencies/zz-epb/events", batch[1].structured)
            #expect(status == 422 && problem["violations"]?[0]?["path"] == "/data/summary", "\(problem)")
            let receipts = try await http.waitForInbox("zz-epb", count: 3)
            let outcomes = Dictionary(uniqueKeysWithValues: receipts.compactMap { receipt -> (String, String)? in
                guard let subject = receipt["event"]?["subject"]?.stringValue, let outcome = receipt["event"]?["data"]?["outcome"]?.stringValue else { return nil }
                return (subject, outcome)
            })
            #expect(outcomes == ["zz-epb:poison-a": "accepted", "zz-epb:poison-b": "refused", "zz-epb:poison-c": "accepted"])
            // The hub's refusal; the adapter's of the same text is a row of its own (stage adapter).
            let rejection = try await database.query("SELECT code, case_id FROM rejections WHERE stage = 'hub'")
            #expect(try rejection.map { try $0.decode("code", as: String.self) } == ["event.unprocessable"])
            let cases = try await database.query("SELECT id FROM cases ORDER BY id")
            #expect(try cases.map { try $0.decode("id", as: String.self) } == ["zz-epb:poison-a", "zz-epb:poison-c"])
        }
    }

    @Test func deadlineNoticesGoOutOnceEach() async throws {
        try await withRunningStack(arrivals: .atDeclaredTimes) { _, http, database in
            func post(_ type: String, by agency: String, case caseID: String, at time: String, _ data: JSONValue) async throws {
                let event: JSONValue = .object([
                    "specversion": "1.0", "id": .string(UUID().uuidString), "source": .string(agency),
                    "type": .string("casehub.\(type).v1"), "time": .string(time), "subject": .string(caseID), "data": data,
                ])
                let (status, body) = try await http.send("POST", "/v1/agencies/\(agency)/events", event)
                #expect(status == 202, "\(body)")
            }
            let recommendation: JSONValue = ["documentNumber": "株检行公建〔2026〕7号", "agency": "zz-epb", "urgent": false, "recommendations": ["依法履职"]]
            // Delivered long ago: the two-month reply period has run.
            try await post("pil.clue-registered", by: "zz-procuratorate", case: "zz-procuratorate:late", at: "2026-07-01T09:00:00+08:00", ["clueSource": "referral", "summary": "x"])
            try await post("pil.filed", by: "zz-procuratorate", case: "zz-procuratorate:late", at: "2026-07-02T09:00:00+08:00", ["documentNumber": "株检行公立〔2026〕3号", "agency": "zz-epb"])
            try await post("pil.recommendation-issued", by: "zz-procuratorate", case: "zz-procuratorate:late", at: "2026-07-03T09:00:00+08:00", recommendation)
            try await http.waitForEvent("zz-epb", type: "casehub.pil.recommendation-issued.v1", subject: "zz-procuratorate:late")
            try await post("pil.recommendation-received", by: "zz-epb", case: "zz-procuratorate:late", at: "2026-07-04T09:00:00+08:00", ["receivedAt": "2026-07-04T09:00:00+08:00"])
            // Delivered 55 days ago: inside the 10-day warning window, not yet overdue.
            let recent = RFC3339.format(Date().addingTimeInterval(-55 * 86_400))
            try await post("pil.clue-registered", by: "zz-procuratorate", case: "zz-procuratorate:soon", at: recent, ["clueSource": "referral", "summary": "x"])
            try await post("pil.filed", by: "zz-procuratorate", case: "zz-procuratorate:soon", at: recent, ["documentNumber": "株检行公立〔2026〕3号", "agency": "zz-epb"])
            try await post("pil.recommendation-issued", by: "zz-procuratorate", case: "zz-procuratorate:soon", at: recent, recommendation)
            try await http.waitForEvent("zz-epb", type: "casehub.pil.recommendation-issued.v1", subject: "zz-procuratorate:soon")
            try await post("pil.recommendation-received", by: "zz-epb", case: "zz-procuratorate:soon", at: recent, ["receivedAt": .string(recent)])
            // The reply periods run from the hub's delivery of each recommendation to the bureau.
            http.letTimePass()

            // A case's events may land in separate hub batches on a loaded machine; between `filed` and
            // `recommendation-issued` its filing-notice deadline (long past) can rightly go overdue. It is
            // left out: the test is about the reply deadlines and about nothing going out twice.
            func notices(_ agency: String) async throws -> [String] {
                let (_, body) = try await http.send("GET", "/v1/agencies/\(agency)/inbox?after=0&limit=1000", nil)
                return (body["events"]?.arrayValue ?? []).compactMap { delivery in
                    guard let type = delivery["event"]?["type"]?.stringValue, type.hasPrefix("casehub.hub.deadline"),
                          delivery["event"]?["data"]?["rule"]?.stringValue != "pil.filing-notice" else { return nil }
                    return "\(delivery["event"]?["subject"]?.stringValue ?? "") \(delivery["event"]?["data"]?["rule"]?.stringValue ?? "") \(type.contains("overdue") ? "overdue" : "warning")"
                }.sorted()
            }
            let bureauExpected = ["zz-procuratorate:late pil.reply overdue", "zz-procuratorate:soon pil.reply warning"]
            #expect(await eventually(timeout: .seconds(30)) { (try? await notices("zz-epb")) == bureauExpected })
            // Several more scheduler rounds: nothing is sent twice.
            try await Task.sleep(for: .seconds(1.5))
            #expect(try await notices("zz-epb") == bureauExpected)
            // The procuratorate's notices travel on their own partition: wait for them too (a loaded machine lags).
            let procuratorateExpected = [
                "zz-procuratorate:late pil.recommendation-record overdue", "zz-procuratorate:late pil.reply overdue",
                "zz-procuratorate:soon pil.recommendation-record overdue", "zz-procuratorate:soon pil.reply warning",
            ]
            #expect(await eventually(timeout: .seconds(30)) { (try? await notices("zz-procuratorate")) == procuratorateExpected })
            let procuratorateGot = try await notices("zz-procuratorate")
            #expect(procuratorateGot == procuratorateExpected)
            let marks = try await database.query("SELECT count(*) AS n FROM deadlines WHERE overdue_sent_at IS NOT NULL AND rule_id <> 'pil.filing-notice'")
            #expect(try marks[0].decode("n", as: Int.self) == 3)
        }
    }

    @Test func readinessReportsBrokerAndDatabase() async throws {
        try await withRunningStack { _, http, _ in
            let (health, _) = try await http.send("GET", "/healthz", nil)
            #expect(health == 200)
            // The broker may be slow to answer on a loaded machine: ready within a while.
            #expect(await eventually(timeout: .seconds(30), every: .milliseconds(500)) { (try? await http.send("GET", "/readyz", nil).0) == 200 })
            let (_, body) = try await http.send("GET", "/readyz", nil)
            #expect(body["database"] == "ok")
            #expect(body["broker"] == "ok")
        }
    }
}

