import CaseHubServer
import CaseModel
import Foundation
import HubStore
import Postgres
import Testing
import TestSupport

/// The dashboard in a real browser: headless Chromium (Debian's `chromium`,
/// installed by Deploy/local/setup.sh) loads it from a stack running the demo
/// scenario, runs its script, and the rendered DOM is checked.
@Suite(.serialized)
struct DashboardBrowserTests {
    /// The page after its script has run for `budget` of virtual time.
    static func renderedPage(_ url: String, budget: Int = 10_000) throws -> String {
        let browser = ProcessInfo.processInfo.environment["CASEHUB_CHROMIUM"] ?? "/usr/bin/chromium"
        guard FileManager.default.isExecutableFile(atPath: browser) else {
            throw BrowserMissing(path: browser)
        }
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("chromium"))
        defer { try? FileManager.default.removeItem(at: profile) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: browser)
        // --no-sandbox: tests run as root in CI, where Chromium's sandbox refuses to start.
        process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile.path)",
                             "--virtual-time-budget=\(budget)", "--dump-dom", url]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    struct BrowserMissing: Error, CustomStringConvertible {
        let path: String
        var description: String { "no Chromium at \(path): run Deploy/local/setup.sh (apt package chromium) or set CASEHUB_CHROMIUM" }
    }

    static func count(_ needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test func flowMapDeadlineBoardAndCaseTimelineRenderWithDemoData() async throws {
        try await withRunningStack(agencies: DemoScenarioTests.agencies, configure: DemoScenarioTests.fastDemo) { _, http, database in
            func count(_ sql: String) async -> Int {
                (try? await database.query(PostgresQuery(unsafeSQL: sql))[0].decode(0, as: Int.self)) ?? 0
            }
            // Enough of the demo for every panel: deliveries, a refusal, a deadline past its warning point.
            let ready = await eventually(timeout: .seconds(90), every: .seconds(1)) {
                let deliveries = await count("SELECT count(*) FROM deliveries")
                let rejections = await count("SELECT count(*) FROM rejections")
                let warned = await count("SELECT count(*) FROM deadlines WHERE state = 'running' AND warn_at <= now()")
                return deliveries >= 5 && rejections >= 1 && warned >= 1
            }
            #expect(ready)
            let caseID = try await database.query(
                "SELECT case_id FROM deadlines WHERE state = 'running' AND warn_at <= now() ORDER BY due_at LIMIT 1")[0].decode(0, as: String.self)
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "browser", by: .administrator("test"))
            let base = "http://127.0.0.1:\(http.port)/"

            let page = try Self.renderedPage(base + "#token=\(admin)&case=\(caseID)")
            // Signed in: the board is shown, the sign-in form hidden.
            #expect(page.contains("<main id=\"board\">"), "\(page.prefix(2_000))")
            #expect(page.contains("<section id=\"sign-in\" hidden"))
            // Flow map: agencies as nodes, weighted edges between them, the refusing sender marked.
            #expect(page.contains("<svg id=\"flow-map\""))
            #expect(Self.count("class=\"node", in: page) >= 3)
            #expect(Self.count("class=\"edge\"", in: page) >= 1)
            #expect(page.contains("data-agency=\"zz-procuratorate\""))
            #expect(page.contains("class=\"refusal-badge\""))
            // Deadline board: rows linking to their cases, Chinese by default.
            #expect(page.contains("<h2 data-i18n=\"deadlineBoard\">法定期限看板</h2>"))
            #expect(page.contains("<tr data-case=\"\(caseID)\""))
            // The link's fragment carries the id percent-encoded (`:` as `%3A`).
            #expect(page.contains("href=\"#case=\(caseID.replacingOccurrences(of: ":", with: "%3A"))\""))
            // The case timeline: its events and an intact audit chain.
            #expect(page.contains("<div id=\"case-timeline\" data-case=\"\(caseID)\">"))
            #expect(Self.count("<li class=\"event accepted\"", in: page) >= 1)
            #expect(page.contains("id=\"chain-status\" data-intact=\"true\""))
            // Throughput chart and tiles drawn from live figures.
            #expect(page.contains("class=\"bar-deliveries\""))
            #expect(page.contains("data-tile=\"overdue\""))
            // The token left the address at once.
            #expect(!page.contains(admin))

            // English on request.
            let english = try Self.renderedPage(base + "#lang=en&token=\(admin)", budget: 5_000)
            #expect(english.contains("<h2 data-i18n=\"deadlineBoard\">Statutory deadlines</h2>"))

            // An agency's token does not open it; no token shows the sign-in form.
            let agencyToken = try #require(http.tokens["zz-epb"])
            let refused = try Self.renderedPage(base + "#token=\(agencyToken)", budget: 5_000)
            #expect(refused.contains("<main id=\"board\" hidden"))
            #expect(refused.contains("这是机构的令牌，不能打开管理员界面。"))
            let anonymous = try Self.renderedPage(base, budget: 3_000)
            #expect(anonymous.contains("<section id=\"sign-in\">"))
        }
    }

    /// A parked outbox record shows its panel, its reason and the two actions.
    @Test func aParkedRecordIsShownWithItsActions() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"]) { stack, http, database in
            let store = HubStore(client: database)
            // Larger than the relay's producer takes: parked at its first round.
            try await store.withTransaction { transaction in
                transaction.enqueue([OutboxRecord(topic: stack.configuration.topics.to("zz-procuratorate"), key: "parked-case",
                                                  headers: [RecordHeader(name: "ce_subject", value: "parked-case")],
                                                  value: [UInt8](repeating: UInt8(ascii: "x"), count: 1_100_000))])
            }
            let parked = await eventually(timeout: .seconds(60)) { (try? await store.parkedOutboxCount()) == 1 }
            #expect(parked)
            let record = try #require(try await store.parkedOutboxRecords().first).position
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "browser", by: .administrator("test"))
            let page = try Self.renderedPage("http://127.0.0.1:\(http.port)/#token=\(admin)", budget: 5_000)
            #expect(page.contains("<section class=\"panel wide\" id=\"parked\">"), "\(page.prefix(2_000))")
            #expect(page.contains("<tr data-record=\"\(record)\">"))
            #expect(page.contains(">重试</button>") && page.contains(">丢弃</button>"))
            #expect(page.contains("data-tile=\"outboxParked\""))
        }
    }

    /// One agency's token used on another's paths stands out in the refusals
    /// panel; an adapter's refusal offers no replay.
    @Test func anImpersonationStandsOutInTheRefusals() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"]) { _, http, database in
            let epb = try #require(http.tokens["zz-epb"])
            let (status, _) = try await http.send("POST", "/v1/agencies/zz-procuratorate/events", AdapterAccessTests.referral(caseID: "zz-epb:as-other"),
                                                  bearer: .token(epb))
            #expect(status == 403)
            let queries = AdminQueries(client: database)
            let recorded = await eventually { (try? await queries.rejectionPage(AdminQueries.RejectionFilter()).count) == 1 }
            #expect(recorded)
            let id = try #require(try await queries.rejectionPage(AdminQueries.RejectionFilter()).first?.id)
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "browser", by: .administrator("test"))
            let page = try Self.renderedPage("http://127.0.0.1:\(http.port)/#token=\(admin)", budget: 5_000)
            #expect(page.contains("<tr data-rejection=\"\(id)\" data-stage=\"adapter\" class=\"impersonation\">"), "\(page.prefix(2_000))")
            #expect(page.contains("<span class=\"badge impersonation\">冒用身份</span>"))
            #expect(page.contains("<div class=\"claimed\">冒充 "))
            #expect(!page.contains(">重放</button>"))
        }
    }

    /// A deadline met after its last day shows as met late, and every
    /// deadline's last day as a Chinese date (the instant in its tooltip).
    @Test func aLateAnswerAndTheLastDayAsWrittenInTheCaseTimeline() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-psb", "zz-procuratorate"], arrivals: .atDeclaredTimes) { _, http, database in
            let caseID = TestEnvironment.caseID("late-shown", openedBy: "zz-epb")
            let rules = ProcedureRulesTests()
            #expect(try await rules.step(http, "crime.case-reported", by: "zz-epb", case: caseID, at: "2026-07-01T09:00:00+08:00", ["summary": "渗坑排放"]) == "accepted")
            #expect(try await rules.step(http, "crime.transfer-decided", by: "zz-epb", case: caseID, at: "2026-07-07T10:00:00+08:00",
                                         ["decision": "transfer", "decidedBy": "局长"]) == "accepted")
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "browser", by: .administrator("test"))
            let page = try Self.renderedPage("http://127.0.0.1:\(http.port)/#token=\(admin)&case=\(caseID)", budget: 5_000)
            #expect(page.contains("<tr data-rule=\"crime.head-decision\" data-stage=\"met-late\">"), "\(page.prefix(2_000))")
            #expect(page.contains("<span class=\"badge met-late\">逾期履行</span>"))
            #expect(page.contains(">负责人决定是否移送</td>"))
            #expect(page.contains("<td class=\"due-date\" title=\"") && page.contains(">2026年7月6日</td>"))
        }
    }

    /// Case text is shown as text: markup in a title does not become elements.
    @Test func caseTextIsEscaped() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"]) { _, http, database in
            let hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"
            let (status, body) = try await http.send("POST", "/v1/agencies/zz-epb/events", AdminAPITests.event(
                "case.opened", by: "zz-epb", case: "zz-epb:xss-case", at: "2026-07-01T09:00:00+08:00",
                ["procedure": "referral", "title": .string(hostile)]))
            #expect(status == 202, "\(body)")
            let stored = await eventually(timeout: .seconds(60)) {
                await (try? AdminQueries(client: database).caseExists("zz-epb:xss-case")) == true
            }
            #expect(stored)
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "browser", by: .administrator("test"))
            let page = try Self.renderedPage("http://127.0.0.1:\(http.port)/#token=\(admin)&case=zz-epb:xss-case", budget: 5_000)
            #expect(page.contains("<div id=\"case-timeline\" data-case=\"zz-epb:xss-case\">"), "\(page.prefix(2_000))")
            // The title is in the page, as text.
            #expect(page.contains("&lt;img src=x onerror=alert(1)&gt;"))
            #expect(!page.contains("<img src=\"x\""))
            #expect(!page.contains("<script>alert"))
            // Dated July, received now: the hub's time counts, the sender's stands beside it.
            #expect(page.contains("<span class=\"declared hint\"> (发送方所称时间 "), "\(page.prefix(4_000))")
        }
    }
}
