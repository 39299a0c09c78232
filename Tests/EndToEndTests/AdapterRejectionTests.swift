import CaseModel
import Crypto
import CaseHubServer
import Foundation
import HubStore
import Postgres
import Testing
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Requests the adapters refuse reach administrators, beside the hub's
/// refusals: real stack, real HTTP, read back through `/v1/rejections`.
@Suite(.serialized)
struct AdapterRejectionTests {
    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    @Test func refusalsAtTheAdaptersReachAdministrators() async throws {
        try await withRunningStack { stack, http, database in
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "值班员", by: .administrator("test"))
            func rejections(_ query: String) async throws -> [JSONValue] {
                let (status, page) = try await http.send("GET", "/v1/rejections?\(query)", nil, bearer: .token(admin))
                #expect(status == 200, "\(page)")
                return page["rejections"]?.arrayValue ?? []
            }
            let epb = try #require(http.tokens["zz-epb"])
            let epbTokenID = Self.hex(AgencyTokenStore.hash(epb).prefix(8))

            // 422: a referral without its summary.
            var invalid = AdapterAccessTests.referral(caseID: "zz-epb:refused-422")
            if case .object(var members) = invalid { members["data"] = ["receiver": "zz-procuratorate", "referralKind": "clue"]; invalid = .object(members) }
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", invalid).0 == 422)
            // 409: an id used before for other content.
            let id = UUID().uuidString.lowercased()
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", AdapterAccessTests.referral(id: id, caseID: "zz-epb:refused-409")).0 == 202)
            let reused = AdapterAccessTests.referral(id: id, caseID: "zz-epb:refused-409", summary: "另一条线索")
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", reused).0 == 409)
            // Impersonation: the bureau's token on the procuratorate's path…
            let asProcuratorate = try await http.send("POST", "/v1/agencies/zz-procuratorate/events", AdapterAccessTests.referral(caseID: "refused-403"),
                                                      bearer: .token(epb))
            #expect(asProcuratorate.0 == 403)
            // …and on its own path, events claiming to come from the procuratorate (a 422 to the caller, like any invalid event).
            var claimed = AdapterAccessTests.referral(caseID: "zz-epb:refused-claimed")
            if case .object(var members) = claimed { members["source"] = "zz-procuratorate"; claimed = .object(members) }
            let (claimedStatus, claimedProblem) = try await http.send("POST", "/v1/agencies/zz-epb/events", claimed)
            #expect(claimedStatus == 422 && claimedProblem["violations"]?[0]?["path"] == "/source", "\(claimedProblem)")
            // A refused body over 64 KiB: kept as its size and SHA-256 only.
            let padded = Array((#"{"specversion": "1.0"}"# + String(repeating: " ", count: 100_000)).utf8)
            #expect(try await http.sendRaw("POST", "/v1/agencies/zz-epb/events", padded).0 == 422)
            // Without a valid token nothing is recorded: anyone could send these.
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", invalid, bearer: .none).0 == 401)
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", invalid, bearer: .token("chub_not-a-token")).0 == 401)
            // And one the hub refuses, for contrast: out of turn.
            let outOfTurn = AdminAPITests.event("litigation.accepted", by: "zz-court", case: "refused-hub", at: "2026-07-01T09:00:00+08:00",
                                                ["caseNumber": "（2026）湘02民初7号", "acceptedOn": "2026-07-01", "causeOfAction": "x"])
            #expect(try await http.send("POST", "/v1/agencies/zz-court/events", outOfTurn).0 == 202)

            let settled = await eventually(timeout: .seconds(60)) {
                let adapter = try? await rejections("stage=adapter").count
                let hub = try? await rejections("stage=hub").count
                return adapter == 5 && hub == 1
            }
            #expect(settled)

            // Newest first; all the bureau's, with its token named but not shown, none on a topic.
            let adapter = try await rejections("stage=adapter")
            try #require(adapter.count == 5)
            for item in adapter {
                #expect(item["stage"] == "adapter" && item["source"] == "zz-epb" && item["topic"] == .null, "\(item)")
                #expect(item["tokenId"] == .string(epbTokenID) && item["tokenLabel"] == "test", "\(item)")
                #expect(item["replayedAt"] == .null)
            }
            let (large, claimedRow, forbidden, conflict, schema) = (adapter[0], adapter[1], adapter[2], adapter[3], adapter[4])
            #expect(schema["code"] == .string(RefusalCode.schemaInvalid.rawValue) && schema["httpStatus"] == 422)
            #expect(schema["request"] == "POST /v1/agencies/zz-epb/events")
            #expect(schema["violations"]?[0]?["path"] == "/data/summary")
            #expect(schema["meaning"]?["zh"] == "事件内容不符合数据规范" && schema["meaning"]?["en"] == "The payload breaks its type's schema")
            #expect(schema["bodyStored"] == true && schema["bodySize"] == .integer(Int64(invalid.canonicalBytes.count)))
            #expect(schema["bodySha256"] == .string(Self.hex(SHA256.hash(data: invalid.canonicalBytes))))

            #expect(conflict["code"] == .string(RefusalCode.eventIDReused.rawValue) && conflict["httpStatus"] == 409)
            #expect(conflict["violations"]?[0]?["path"] == "/id" && conflict["claimedAgency"] == .null)

            #expect(forbidden["code"] == .string(RefusalCode.adapterImpersonation.rawValue) && forbidden["httpStatus"] == 403)
            #expect(forbidden["claimedAgency"] == "zz-procuratorate" && forbidden["request"] == "POST /v1/agencies/zz-procuratorate/events")
            #expect(forbidden["reason"] == "a token of zz-epb was used on the paths of zz-procuratorate")
            #expect(forbidden["bodyStored"] == false && forbidden["bodySha256"] == .null)

            #expect(claimedRow["code"] == .string(RefusalCode.adapterImpersonation.rawValue) && claimedRow["httpStatus"] == 422)
            #expect(claimedRow["claimedAgency"] == "zz-procuratorate" && claimedRow["bodyStored"] == true)

            #expect(large["code"] == .string(RefusalCode.envelopeInvalid.rawValue))
            #expect(large["bodySize"] == .integer(Int64(padded.count)) && large["bodyStored"] == false)
            #expect(large["bodySha256"] == .string(Self.hex(SHA256.hash(data: padded))))
            let largeID = try #require(large["id"]?.canonicalString)
            let kept = try await database.query("SELECT octet_length(value) AS n FROM rejections WHERE id = \(Int64(largeID)!)")
            #expect(try kept[0].decode("n", as: Int.self) == 0)

            // Filters: by stage, by code, by the agency named either way.
            let hub = try await rejections("stage=hub")
            #expect(hub.first?["stage"] == "hub" && hub.first?["source"] == "zz-court" && hub.first?["code"] == .string(RefusalCode.caseUnknown.rawValue))
            #expect(hub.first?["tokenId"] == .null && hub.first?["httpStatus"] == .null && hub.first?["topic"] != .null)
            let impersonations = try await rejections("code=adapter.impersonation")
            #expect(impersonations.map { $0["id"] } == [claimedRow["id"], forbidden["id"]])
            #expect(try await rejections("agency=zz-procuratorate").map { $0["id"] } == [claimedRow["id"], forbidden["id"]])
            #expect(try await rejections("stage=adapter&code=event.id-reused").map { $0["id"] } == [conflict["id"]])
            #expect(try await rejections("stage=hub&code=adapter.impersonation").isEmpty)
            #expect(try await rejections("").count == 6)
            #expect(try await http.send("GET", "/v1/rejections?stage=kafka", nil, bearer: .token(admin)).0 == 400)

            // An adapter's refusal never reached the hub: replaying it is refused, and nothing changes.
            let forbiddenID = try #require(forbidden["id"]?.canonicalString)
            let (replay, problem) = try await http.send("POST", "/v1/rejections/\(forbiddenID)/replay", ["reason": "试试"], bearer: .token(admin))
            #expect(replay == 409 && problem["title"] == "Not replayable", "\(problem)")
            #expect(try await rejections("code=adapter.impersonation").allSatisfy { $0["replayedAt"] == .null })

            // The overview counts both stages; only the hub's waits for a replay.
            let (_, overview) = try await http.send("GET", "/v1/overview", nil, bearer: .token(admin))
            #expect(overview["rejections"] == 6 && overview["rejectionsNotReplayed"] == 1, "\(overview)")

            // Counted for the alert.
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(http.port)/metrics")!)
            request.setValue("Bearer \(admin)", forHTTPHeaderField: "Authorization")
            let metrics = String(decoding: try await URLSession.shared.data(for: request).0, as: UTF8.self)
            #expect(metrics.contains("casehub_adapter_impersonation_attempts_total 2"), "\(metrics)")
            #expect(metrics.contains(#"casehub_adapter_refusals_total{code="adapter.impersonation",agency="zz-epb"} 2"#))
            #expect(metrics.contains(#"casehub_adapter_refusals_unrecorded_total{reason="database"} 0"#))

            // The command line reads the same, with the same filters.
            var environment = ProcessInfo.processInfo.environment
            environment["CASEHUB_DATABASE_URL"] = stack.configuration.databaseURL
            environment["CASEHUB_ADMIN_DATABASE_URL"] = stack.configuration.databaseURL(for: .admin)
            environment["CASEHUB_LOG_LEVEL"] = "error"
            let listed = try CommandLineTests().run(["rejections", "list", "--stage", "adapter", "--code", "adapter.impersonation", "--json"],
                                                    environment: environment)
            #expect(listed.status == 0, "\(listed.output)")
            let items = try JSONValue.parse(Array(listed.output.utf8)).arrayValue ?? []
            #expect(items.map { $0["id"] } == [claimedRow["id"], forbidden["id"]])
            let table = try CommandLineTests().run(["rejections", "list", "--stage", "adapter"], environment: environment)
            #expect(table.output.contains("zz-procuratorate") && table.output.contains(epbTokenID), "\(table.output)")
            #expect(try CommandLineTests().run(["rejections", "list", "--stage", "kafka"], environment: environment).output.contains("--stage is hub or adapter"))
        }
    }
}
