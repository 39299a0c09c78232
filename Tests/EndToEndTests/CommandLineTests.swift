import CaseHubServer
import CaseModel
import Foundation
import Hub
import HubStore
import Logging
import Postgres
import TestSupport
import Testing

/// Runs the real `casehub` executable.
struct CommandLineTests {
    func run(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = PackagePaths.casehubExecutable
        process.arguments = arguments
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// A fresh database brought to the current schema by `casehub migrate`, and
    /// the environment that points the CLI at it.
    func migratedDatabase() async throws -> (url: String, environment: [String: String]) {
        let database = try await TestDatabase.create("cli")
        var environment = ProcessInfo.processInfo.environment
        environment["CASEHUB_DATABASE_URL"] = database
        let migrated = try run(["migrate"], environment: environment)
        #expect(migrated.status == 0, "\(migrated.output)")
        return (database, environment)
    }

    /// Without `.local/lib` on the loader path, the system's librdkafka loads;
    /// on Debian 12 that is 2.0.2, which must be refused with a clear message.
    @Test func refusesAnOldLibrdkafkaWithAClearMessage() throws {
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "LD_LIBRARY_PATH")
        let (status, output) = try run(["topics", "--kafka-brokers", TestEnvironment.kafkaBrokers], environment: environment)
        let systemVersion = try #require(Self.systemLibrdkafkaVersion(), "no system librdkafka to compare with")
        if systemVersion < (2, 2) {
            #expect(status != 0)
            #expect(output.contains("needs 2.2.0 or newer"))
            #expect(output.contains("Deploy/local/setup.sh"))
        } else {
            #expect(status == 0, "\(output)")
        }
    }

    @Test func migrateBringsAnEmptyDatabaseToTheCurrentVersionOnce() async throws {
        let database = try await TestDatabase.create("cli")
        var environment = ProcessInfo.processInfo.environment
        environment["CASEHUB_DATABASE_URL"] = database
        let first = try run(["migrate"], environment: environment)
        #expect(first.status == 0, "\(first.output)")
        #expect(first.output.contains("applied migration(s) 1"))
        let second = try run(["migrate"], environment: environment)
        #expect(second.status == 0)
        #expect(second.output.contains("database schema is current"))
    }

    @Test func unknownAgencyIsAClearError() throws {
        let (status, output) = try run(["adapter", "--agency", "no-such-agency"], environment: ProcessInfo.processInfo.environment)
        #expect(status != 0)
        #expect(output.contains("no agency with id 'no-such-agency' is registered"))
    }

    /// The version of the system's librdkafka package, from dpkg.
    static func systemLibrdkafkaVersion() -> (Int, Int)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/dpkg-query")
        process.arguments = ["-W", "-f=${Version}", "librdkafka1"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        guard (try? process.run()) != nil else { return nil }
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let numbers = text.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        return numbers.count == 2 ? (numbers[0], numbers[1]) : nil
    }
}

extension CommandLineTests {
    @Test func agenciesTokenIssuesATokenThatAuthenticatesAndRevokeEndsIt() async throws {
        let (database, environment) = try await migratedDatabase()
        let issued = try run(["agencies", "token", "zz-court", "--label", "court-system", "--log-level", "error"], environment: environment)
        #expect(issued.status == 0, "\(issued.output)")
        let token = issued.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(token.hasPrefix("chub_") && token.count > 40)

        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: database), logger: Logger(label: "test.cli"))
        #expect(try await AgencyTokenStore(client: client).agency(forToken: token) == "zz-court")
        let revoked = try run(["agencies", "revoke", "zz-court", "--log-level", "error"], environment: environment)
        #expect(revoked.output.contains("revoked 1 token(s) of zz-court"))
        #expect(try await AgencyTokenStore(client: client).agency(forToken: token) == nil)
        await client.shutdown()

        let unknown = try run(["agencies", "token", "zz-nowhere"], environment: environment)
        #expect(unknown.status != 0)
        #expect(unknown.output.contains("'zz-nowhere' is not a registered agency"))
    }
}

extension CommandLineTests {
    @Test func keysGenerateShowAndRotate() async throws {
        let (_, environment) = try await migratedDatabase()
        let keyDir = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("keys")).path
        let common = ["--agency", "zz-court", "--key-dir", keyDir, "--log-level", "error"]

        let generated = try run(["keys", "generate"] + common, environment: environment)
        #expect(generated.status == 0, "\(generated.output)")
        let firstKey = try #require(generated.output.split(separator: "\t").dropFirst().first?.split(separator: " ").last.map(String.init))
        let again = try run(["keys", "generate"] + common, environment: environment)
        #expect(again.status != 0)
        #expect(again.output.contains("use 'casehub keys rotate'"))

        let rotated = try run(["keys", "rotate"] + common, environment: environment)
        #expect(rotated.status == 0, "\(rotated.output)")
        let shown = try run(["keys", "show"] + common, environment: environment)
        let lines = shown.output.split(separator: "\n")
        #expect(lines.count == 2, "\(shown.output)")
        #expect(lines.contains { $0.hasPrefix(firstKey) && $0.contains("retired") })
        #expect(lines.contains { $0.contains("active") && $0.contains("(in \(keyDir))") })
    }
}

extension CommandLineTests {
    @Test func casesListIsATableOrJSON() async throws {
        let (database, environment) = try await migratedDatabase()
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: database), logger: Logger(label: "test.cli"))
        for (id, title) in [("case-cn", "湘江排污案"), ("case-en", "Plain")] {
            try await client.execute("""
                INSERT INTO cases (id, procedure, status, holder, parties, version, opened_at, updated_at, title)
                VALUES (\(id), 'referral', 'submitted', 'zz-epb', '{zz-epb}', 1, now(), now(), \(title))
                """)
        }
        await client.shutdown()

        let table = try run(["cases", "list", "--log-level", "error"], environment: environment)
        #expect(table.status == 0, "\(table.output)")
        let lines = table.output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.contains { $0.hasSuffix("湘江排污案") })
        // Columns line up although the header, ids and titles differ in width.
        let statusColumns = lines.map { line in line.range(of: "submitted")?.lowerBound.utf16Offset(in: line) ?? line.range(of: "status")!.lowerBound.utf16Offset(in: line) }
        #expect(Set(statusColumns).count == 1, "\(table.output)")

        let json = try run(["cases", "list", "--json", "--agency", "zz-epb", "--log-level", "error"], environment: environment)
        let parsed = try JSONValue.parse(Array(json.output.utf8))
        #expect(parsed.arrayValue?.count == 2)

        let wrong = try run(["deadlines", "--state", "late"], environment: environment)
        #expect(wrong.status != 0)
        #expect(wrong.output.contains("--state is warning or overdue"))
    }
}

extension CommandLineTests {
    @Test func rejectionsReplayNeedsAKnownIDAndAReason() async throws {
        let (_, environment) = try await migratedDatabase()
        let missing = try run(["rejections", "replay", "42", "--reason", "test"], environment: environment)
        #expect(missing.status != 0)
        #expect(missing.output.contains("no rejection 42"))
        let blank = try run(["rejections", "replay", "42", "--reason", "  "], environment: environment)
        #expect(blank.output.contains("--reason needs 1 to 1,000 characters"))
    }
}

extension CommandLineTests {
    /// `agencies list`, `flows` and `lag` against a running stack that has
    /// delivered one referral and refused one event.
    @Test func agenciesListFlowsAndLagShowTheTraffic() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"]) { stack, http, _ in
            let referral = AdminAPITests.event("referral.submitted", by: "zz-epb", case: "zz-epb:cli-referral", at: "2026-07-01T09:00:00+08:00",
                                               ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"])
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", referral).0 == 202)
            let unknownCase = AdminAPITests.event("pil.filed", by: "zz-procuratorate", case: "cli-nothing", at: "2026-07-01T09:00:00+08:00",
                                                  ["documentNumber": "株检行公立〔2026〕9号", "agency": "zz-epb"])
            #expect(try await http.send("POST", "/v1/agencies/zz-procuratorate/events", unknownCase).0 == 202)
            // The referral itself (the procuratorate's inbox also gets the receipt of its refused event).
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: "zz-epb:cli-referral")

            var environment = ProcessInfo.processInfo.environment
            environment["CASEHUB_DATABASE_URL"] = stack.configuration.databaseURL
            environment["CASEHUB_ADMIN_DATABASE_URL"] = stack.configuration.databaseURL(for: .admin)
            environment["CASEHUB_KAFKA_BROKERS"] = TestEnvironment.kafkaBrokers
            environment["CASEHUB_TOPIC_PREFIX"] = stack.configuration.topics.prefix
            environment["CASEHUB_LOG_LEVEL"] = "error"

            // Flows: the delivery and, once the hub has judged it, the refusal.
            var flows: JSONValue = .null
            let judged = await eventually(timeout: .seconds(60)) {
                guard let output = try? run(["flows", "--json"], environment: environment).output,
                      let parsed = try? JSONValue.parse(Array(output.utf8)) else { return false }
                flows = parsed
                return parsed["refusals"]?.arrayValue?.isEmpty == false
            }
            #expect(judged, "\(flows)")
            // Besides the referral, the hub's receipts to the senders are deliveries too.
            let delivery = try #require(flows["deliveries"]?.arrayValue?.first { $0["type"] == "casehub.referral.submitted.v1" }, "\(flows)")
            #expect(delivery["sender"] == "zz-epb" && delivery["receiver"] == "zz-procuratorate" && delivery["count"] == 1)
            #expect(flows["refusals"]?[0]?["sender"] == "zz-procuratorate" && flows["refusals"]?[0]?["code"] == "case.unknown")
            let table = try run(["flows", "--bucket", "60"], environment: environment)
            #expect(table.status == 0 && table.output.contains("casehub.referral.submitted.v1") && table.output.contains("case.unknown"), "\(table.output)")
            #expect(try run(["flows", "--since", "yesterday"], environment: environment).output.contains("not an RFC 3339 instant"))

            // Agencies: who they are, their tokens and what they sent.
            let listed = try JSONValue.parse(Array(try run(["agencies", "list", "--json"], environment: environment).output.utf8))
            let epb = try #require(listed.arrayValue?.first { $0["id"] == "zz-epb" })
            #expect(epb["name"] == "株洲市生态环境局" && epb["kind"] == "environment-bureau")
            #expect(epb["tokens"] == 1 && epb["keys"] == 1 && epb["accepted"] == 1 && epb["refused"] == 0)
            let courts = try run(["agencies", "list", "--kind", "court"], environment: environment)
            #expect(courts.output.contains("株洲市中级人民法院") && !courts.output.contains("株洲市生态环境局"), "\(courts.output)")
            #expect(try run(["agencies", "list", "--kind", "bank"], environment: environment).output.contains("--kind is one of"))

            // Lag: the hub's and the adapters' groups, caught up.
            let hubGroup = stack.configuration.hub.groupID
            var lag: [JSONValue] = []
            let caughtUp = await eventually(timeout: .seconds(60)) {
                guard let output = try? run(["lag", "--json"], environment: environment).output,
                      let entries = try? JSONValue.parse(Array(output.utf8)).arrayValue else { return false }
                lag = entries
                let groups = Set(entries.compactMap { $0["group"]?.stringValue })
                return groups.contains(hubGroup) && groups.contains("\(stack.configuration.topics.prefix)-adapters")
                    && entries.allSatisfy { $0["lag"] == 0 }
            }
            #expect(caughtUp, "\(lag)")
            let lagTable = try run(["lag"], environment: environment)
            #expect(lagTable.output.contains("\(hubGroup): 0 behind"), "\(lagTable.output)")
        }
    }
}
