import CaseHubServer
import CaseModel
import Crypto
import Foundation
import HubStore
import Logging
import Postgres
import TestSupport
import Testing

/// Trust anchors are an administrator's: an adapter only proposes its
/// signing key, the hub verifies only with keys an administrator approved or
/// registered, a retired key stays retired, and every administrator action
/// (tokens, keys, webhooks, replays) is an audit entry on the agency's chain
/// that names who did it and holds no secret. Real stack, real CLI.
@Suite(.serialized)
struct AdministratorTrustTests {
    static func referral(_ caseID: String, time: Date = Date()) -> JSONValue {
        .object([
            "specversion": "1.0", "id": .string(UUID().uuidString.lowercased()), "source": "zz-epb",
            "type": "casehub.referral.submitted.v1", "time": .string(RFC3339.format(time)), "subject": .string(caseID),
            "data": .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "渌江排污线索"]),
        ])
    }

    /// The CLI's environment for a running stack's database: administrators'
    /// commands connect as the administrators' role.
    static func environment(_ stack: CaseHubStack) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["CASEHUB_DATABASE_URL"] = stack.configuration.databaseURL
        environment["CASEHUB_ADMIN_DATABASE_URL"] = stack.configuration.databaseURL(for: .admin)
        environment["CASEHUB_LOG_LEVEL"] = "error"
        return environment
    }

    /// The hub's verdict on one event, from the sender's receipts: its outcome and code.
    static func verdict(_ http: HTTPClient, on event: JSONValue) async throws -> (outcome: String?, code: String?) {
        let id = try #require(event["id"]?.stringValue)
        var found: JSONValue?
        _ = await eventually(timeout: .seconds(60)) {
            let (_, body) = (try? await http.send("GET", "/v1/agencies/zz-epb/inbox?after=0&limit=1000&wait=1", nil)) ?? (0, .null)
            found = body["events"]?.arrayValue?.first { $0["event"]?["data"]?["eventId"]?.stringValue == id }
            return found != nil
        }
        return (found?["event"]?["data"]?["outcome"]?.stringValue, found?["event"]?["data"]?["code"]?.stringValue)
    }

    @Test func anAdaptersProposedKeyVerifiesNothingUntilAnAdministratorApprovesIt() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], configure: { $0.approveOwnSigningKeys = false }) { stack, http, database in
            let store = AgencyKeyStore(client: database)
            let proposed = try await store.records(of: "zz-epb")
            #expect(proposed.count == 1 && proposed[0].status == .proposed, "\(proposed)")
            #expect(proposed[0].proposedBy?.hasPrefix("adapter@") == true)
            let keyID = try #require(proposed.first?.keyID)
            #expect(try await store.keys(of: "zz-epb").isEmpty, "a proposal is not a key the hub verifies with")

            // Signed with the proposed key: refused, the key is not registered.
            let early = Self.referral("zz-epb:proposed-1")
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", early).0 == 202)
            let refused = try await Self.verdict(http, on: early)
            #expect(refused.outcome == "refused" && refused.code == "signature.unknown-key", "\(refused)")
            #expect(try await database.query("SELECT 1 FROM cases WHERE id = 'proposed-1'").isEmpty)

            // The administrator sees it proposed, and approves it.
            let cli = CommandLineTests()
            let environment = Self.environment(stack)
            let listed = try cli.run(["keys", "list", "--agency", "zz-epb", "--status", "proposed"], environment: environment)
            #expect(listed.status == 0 && listed.output.contains(keyID) && listed.output.contains("proposed"), "\(listed.output)")
            let approved = try cli.run(["keys", "approve", "--agency", "zz-epb", "--key", keyID, "--reason", "key id checked with the bureau by phone"],
                                       environment: environment)
            #expect(approved.status == 0 && approved.output.contains("approved"), "\(approved.output)")
            let again = try cli.run(["keys", "approve", "--agency", "zz-epb", "--key", keyID], environment: environment)
            #expect(again.status == 0 && again.output.contains("nothing done"), "\(again.output)")

            // Now it verifies: the next event is accepted and delivered.
            let later = Self.referral("zz-epb:proposed-2")
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", later).0 == 202)
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: "zz-epb:proposed-2")
            #expect(try await Self.verdict(http, on: later).outcome == "accepted")

            let entry = try #require(try await database.query("""
                SELECT source, body::text AS body FROM case_events WHERE type = 'casehub.admin.key-approved'
                """).first)
            #expect(try entry.decode("source", as: String.self).hasPrefix("admin:cli:"))
            let body = try JSONValue.parse(Array(try entry.decode("body", as: String.self).utf8))
            #expect(body["agency"] == "zz-epb" && body["keyId"] == .string(keyID) && body["reason"] == "key id checked with the bureau by phone")
        }
    }

    @Test func aRetiredKeyStaysRetiredWhenItsAdapterRestartsWithTheSameFolder() async throws {
        let identity = try await StackIdentity.fresh()
        let agencies: [AgencyID] = ["zz-epb", "zz-procuratorate"]
        var keyID = ""
        try await withRunningStack(agencies: agencies, identity: identity) { stack, http, database in
            let event = Self.referral("zz-epb:retired-1")
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", event).0 == 202)
            #expect(try await Self.verdict(http, on: event).outcome == "accepted")
            keyID = try #require(try await AgencyKeyStore(client: database).keys(of: "zz-epb").first?.keyID)
            let retired = try CommandLineTests().run(["keys", "retire", "--agency", "zz-epb", "--key", keyID, "--reason", "the key file was copied off the host"],
                                                     environment: Self.environment(stack))
            #expect(retired.status == 0 && retired.output.contains("retired") && retired.output.contains("no active key"), "\(retired.output)")
        }

        // Restarted in local mode with the same folder: the stack does not approve a retired key, it stops with why.
        await #expect {
            try await withRunningStack(agencies: agencies, identity: identity) { _, _, _ in }
        } throws: { error in
            "\(error)".contains("retired") && "\(error)".contains("casehub keys rotate --agency zz-epb")
        }

        // Restarted as a production adapter (no approval of its own): it proposes the key again, which changes nothing.
        try await withRunningStack(agencies: agencies, identity: identity, configure: { $0.approveOwnSigningKeys = false }) { stack, http, database in
            let store = AgencyKeyStore(client: database)
            let record = try #require(try await store.record(agency: "zz-epb", keyID: keyID))
            #expect(record.status == .retired && record.retiredBy?.hasPrefix("cli:") == true)
            #expect(try await store.keys(of: "zz-epb").allSatisfy { $0.retiredAt != nil })
            let event = Self.referral("zz-epb:retired-2")
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", event).0 == 202)
            let verdict = try await Self.verdict(http, on: event)
            #expect(verdict.outcome == "refused" && verdict.code == "signature.key-retired", "\(verdict)")
            // Backdated to a month before the retirement: the hub received it after, so it is still refused.
            let backdated = Self.referral("zz-epb:retired-3", time: Date(timeIntervalSinceNow: -30 * 86_400))
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", backdated).0 == 202)
            let backdatedVerdict = try await Self.verdict(http, on: backdated)
            #expect(backdatedVerdict.outcome == "refused" && backdatedVerdict.code == "signature.key-retired", "\(backdatedVerdict)")
            // Nor can an administrator bring it back.
            let approve = try CommandLineTests().run(["keys", "approve", "--agency", "zz-epb", "--key", keyID], environment: Self.environment(stack))
            #expect(approve.status != 0 && approve.output.contains("is retired and is never trusted again"), "\(approve.output)")
            await #expect(throws: KeyAdministrationError.self) {
                try await store.rotate(agency: "zz-epb", to: .proposed(keyID: keyID), by: .administrator("test"))
            }
        }
    }

    @Test func everyAdministratorActionIsAnAuditEntryWithItsActorAndTargetAndNoSecret() async throws {
        let courtKeys = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("court-keys")).path
        defer { try? FileManager.default.removeItem(atPath: courtKeys) }
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"]) { stack, http, database in
            let cli = CommandLineTests()
            let environment = Self.environment(stack)
            func run(_ arguments: [String]) throws -> String {
                let (status, output) = try cli.run(arguments, environment: environment)
                #expect(status == 0, "\(arguments): \(output)")
                return output
            }
            var secrets = Array(http.tokens.values)

            // Tokens: an agency's and an administrator's, issued and revoked.
            secrets.append(try run(["agencies", "token", "zz-epb", "--label", "enforcement-system"]).trimmingCharacters(in: .whitespacesAndNewlines))
            _ = try run(["agencies", "revoke", "zz-epb", "--label", "enforcement-system"])
            let desk = try run(["admin", "token", "--label", "ops-desk"]).trimmingCharacters(in: .whitespacesAndNewlines)
            secrets.append(desk)

            // Keys: registered, proposed and approved, rotated, retired.
            let given = Curve25519.Signing.PrivateKey()
            secrets.append(given.rawRepresentation.base64EncodedString())
            _ = try run(["keys", "register", "--agency", "zz-court", "--public-key", given.publicKey.rawRepresentation.base64EncodedString()])
            let proposedKey = Curve25519.Signing.PrivateKey()
            secrets.append(proposedKey.rawRepresentation.base64EncodedString())
            try await AgencyKeyStore(client: database).propose(agency: "zz-court", publicKey: proposedKey.publicKey, by: "adapter@test")
            let proposedID = EventSignature.keyID(of: proposedKey.publicKey)
            _ = try run(["keys", "approve", "--agency", "zz-court", "--key", proposedID])
            let rotated = try run(["keys", "rotate", "--agency", "zz-court", "--key-dir", courtKeys, "--reason", "yearly rotation"])
            #expect(rotated.contains(EventSignature.keyID(of: given.publicKey)) && rotated.contains(proposedID), "\(rotated)")
            let newKey = try String(contentsOfFile: "\(courtKeys)/zz-court.ed25519", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            secrets.append(newKey)
            let newID = EventSignature.keyID(of: try Curve25519.Signing.PrivateKey(rawRepresentation: Data(base64Encoded: newKey)!).publicKey)
            _ = try run(["keys", "retire", "--agency", "zz-court", "--key", newID])
            // The stack's own adapters' keys, approved by the local stack.
            for agency in ["zz-epb", "zz-procuratorate"] {
                secrets.append(try String(contentsOfFile: "\(stack.configuration.keyDirectory!)/\(agency).ed25519", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines))
            }

            // Webhook: set by the agency itself (a secret given, then one generated), removed.
            let webhookSecret = "whsec-0123456789-abcdef"
            secrets += [webhookSecret, "hunter2", "qs-token-42"]
            let (set, _) = try await http.send("PUT", "/v1/agencies/zz-epb/webhook",
                                               ["url": "https://bureau:hunter2@hooks.example.invalid/casehub?token=qs-token-42", "secret": .string(webhookSecret)])
            #expect(set == 200)
            let (reset, generated) = try await http.send("PUT", "/v1/agencies/zz-epb/webhook", ["url": "https://hooks.example.invalid/casehub"])
            #expect(reset == 200)
            secrets.append(try #require(generated["secret"]?.stringValue))
            #expect(try await http.send("DELETE", "/v1/agencies/zz-epb/webhook", nil).0 == 204)

            // Replay: a refused event sent through the hub again by an administrator of the API.
            let unknownCase: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString.lowercased()), "source": "zz-procuratorate",
                "type": "casehub.referral.accepted.v1", "time": .string(RFC3339.format(Date())), "subject": "trust-no-case",
                "data": .object(["receiverNumber": "株检受〔2026〕1号", "acceptedOn": "2026-11-29"]),
            ])
            #expect(try await http.send("POST", "/v1/agencies/zz-procuratorate/events", unknownCase).0 == 202)
            var rejectionID: Int64?
            #expect(await eventually(timeout: .seconds(60)) {
                rejectionID = try? await database.query("SELECT id FROM rejections WHERE stage = 'hub'").first?.decode("id", as: Int64.self)
                return rejectionID != nil
            })
            let (replayed, _) = try await http.send("POST", "/v1/rejections/\(try #require(rejectionID))/replay", ["reason": "test of the audit"],
                                                    bearer: .token(desk))
            #expect(replayed == 202)
            _ = try run(["admin", "revoke", "--label", "ops-desk"])
            // The adapter's webhook changes reach the trail through the hub (their role may not write it).
            #expect(await eventually {
                (try? await database.query("SELECT 1 FROM case_events WHERE type LIKE 'casehub.admin.webhook-%'").count) == 3
            })

            // Each action is one entry, naming who and what, on the chain of the agency it concerns.
            let shards = try await HubStore(client: database).auditShards()
            let rows = try await database.query("""
                SELECT type, source, case_id, shard, body::text AS body FROM case_events WHERE outcome = 'admin' ORDER BY seq
                """)
            var entries: [(type: String, source: String, body: JSONValue)] = []
            for row in rows {
                let type: String = try row.decode("type")
                let source: String = try row.decode("source")
                let text: String = try row.decode("body")
                let body = try JSONValue.parse(Array(text.utf8))
                entries.append((type, source, body))
                for secret in secrets { #expect(!text.contains(secret), "\(type) holds a secret: \(text)") }
                #expect(!text.contains("chub_"), "\(text)")
                #expect(body["by"]?.stringValue?.isEmpty == false && body["byRole"] != nil, "\(text)")
                let chainKey = try row.decode("case_id", as: String?.self).map { "case:\($0)" }
                    ?? "sender:\(try #require(body["agency"]?.stringValue ?? (type == "casehub.admin.rejection-replayed" ? "zz-procuratorate" : nil)))"
                #expect(Int(try row.decode("shard", as: Int32.self)) == AuditShards.shard(of: chainKey, count: shards), "\(type) \(text)")
            }
            func one(_ type: String, _ match: (JSONValue) -> Bool = { _ in true }) -> (source: String, body: JSONValue)? {
                let found = entries.filter { $0.type == "casehub.admin.\(type)" && match($0.body) }
                #expect(found.count == 1, "\(type): \(found.map(\.body))")
                return found.first.map { ($0.source, $0.body) }
            }
            let cliActor = "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown")
            let issued = one("token-issued") { $0["label"] == "enforcement-system" }
            #expect(issued?.source == "admin:\(cliActor)" && issued?.body["agency"] == "zz-epb" && issued?.body["tokenId"]?.stringValue?.count == 16)
            #expect(one("tokens-revoked") { $0["label"] == "enforcement-system" }?.body["tokenIds"] == .array([issued!.body["tokenId"]!]))
            #expect(one("token-issued") { $0["label"] == "ops-desk" }?.body["agency"] == "casehub-admin")
            #expect(one("tokens-revoked") { $0["label"] == "ops-desk" }?.body["tokenIds"]?.arrayValue?.count == 1)
            #expect(one("key-registered")?.body["keyId"] == .string(EventSignature.keyID(of: given.publicKey)))
            #expect(one("key-approved") { $0["agency"] == "zz-court" }?.body["proposedBy"] == "adapter@test")
            for agency in ["zz-epb", "zz-procuratorate"] {
                #expect(one("key-approved") { $0["agency"] == .string(agency) }?.source == "admin:local-stack")
            }
            let rotation = one("key-rotated")
            #expect(rotation?.body["keyId"] == .string(newID) && rotation?.body["reason"] == "yearly rotation")
            #expect(Set(rotation?.body["retiredKeyIds"]?.arrayValue ?? []) == [.string(EventSignature.keyID(of: given.publicKey)), .string(proposedID)])
            #expect(one("key-retired")?.body["keyId"] == .string(newID))
            let hooks = entries.filter { $0.type == "casehub.admin.webhook-set" }
            #expect(hooks.count == 2)
            #expect(hooks.allSatisfy { $0.source == "zz-epb" && $0.body["byRole"] == "agency" && $0.body["byTokenId"] == .string(AgencyTokenStore.id(of: http.tokens["zz-epb"]!)) })
            #expect(hooks.first?.body["url"] == "https://hooks.example.invalid/casehub?…" && hooks.first?.body["secretChanged"] == true)
            #expect(hooks.allSatisfy { $0.body["databaseUser"] == .string(DatabaseRole.adapter.rawValue) }, "\(hooks.map(\.body))")
            #expect(one("webhook-removed")?.source == "zz-epb")
            let replay = one("rejection-replayed")
            #expect(replay?.source == "admin:ops-desk" && replay?.body["byTokenId"] == .string(AgencyTokenStore.id(of: desk)))

            // The chains still verify, with all of it in them.
            let verify = try cli.run(["audit", "verify"], environment: environment)
            #expect(verify.status == 0 && verify.output.contains("audit trail intact"), "\(verify.output)")
        }
    }

    @Test func keyCommandsSayWhatIsWrong() async throws {
        let (_, environment) = try await CommandLineTests().migratedDatabase()
        func run(_ arguments: [String]) throws -> (Int32, String) { try CommandLineTests().run(arguments + ["--log-level", "error"], environment: environment) }
        let malformed = try run(["keys", "approve", "--agency", "zz-epb", "--key", "not-a-key"])
        #expect(malformed.0 != 0 && malformed.1.contains("16 hex digits"), "\(malformed.1)")
        let unknown = try run(["keys", "approve", "--agency", "zz-epb", "--key", "0123456789abcdef"])
        #expect(unknown.0 != 0 && unknown.1.contains("no key 0123456789abcdef was proposed for zz-epb"), "\(unknown.1)")
        let retire = try run(["keys", "retire", "--agency", "zz-epb", "--key", "0123456789abcdef"])
        #expect(retire.0 != 0 && retire.1.contains("zz-epb has no key 0123456789abcdef"), "\(retire.1)")
        let neither = try run(["keys", "rotate", "--agency", "zz-epb"])
        #expect(neither.0 != 0 && neither.1.contains("either --key-dir"), "\(neither.1)")
        let badKey = try run(["keys", "register", "--agency", "zz-epb", "--public-key", "AAAA"])
        #expect(badKey.0 != 0 && badKey.1.contains("32-byte Ed25519 public key"), "\(badKey.1)")
        let nowhere = try run(["keys", "list", "--agency", "zz-nowhere"])
        #expect(nowhere.0 != 0 && nowhere.1.contains("'zz-nowhere' is not a registered agency"), "\(nowhere.1)")
        let status = try run(["keys", "list", "--status", "lost"])
        #expect(status.0 != 0 && status.1.contains("--status is proposed, active or retired"), "\(status.1)")
        let blank = try run(["keys", "approve", "--agency", "zz-epb", "--key", "0123456789abcdef", "--reason", " "])
        #expect(blank.0 != 0 && blank.1.contains("--reason needs 1 to 1,000 characters"), "\(blank.1)")
    }
}
