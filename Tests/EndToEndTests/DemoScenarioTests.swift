import CaseHubServer
import CaseModel
import Foundation
import Hub
import Postgres
import TestSupport
import Testing

/// `casehub run --demo` on a fast clock: within seconds, cases of every
/// procedure move, refusals show, and deadline notices go out.
@Suite(.serialized)
struct DemoScenarioTests {
    /// The agencies the demo's stories involve.
    static let agencies: [AgencyID] = ["zz-epb", "zz-epb-enforcement", "zz-procuratorate", "zz-court", "zz-cdi", "zz-psb"]

    /// The demo on a fast clock: a statutory day lasts a second.
    static func fastDemo(_ configuration: inout CaseHubConfiguration) {
        var demo = DemoScenario.Configuration()
        demo.secondsPerDay = 1
        demo.tick = .milliseconds(150)
        configuration.demo = demo
        configuration.hub.deadlineRules = DeadlineRules.standard.compressed(secondsPerDay: demo.secondsPerDay)
    }

    @Test func theDemoKeepsEveryProcedureMoving() async throws {
        try await withRunningStack(agencies: Self.agencies, configure: Self.fastDemo) { _, _, database in
            func count(_ sql: String) async -> Int {
                (try? await database.query(PostgresQuery(unsafeSQL: sql))[0].decode(0, as: Int.self)) ?? 0
            }
            let lively = await eventually(timeout: .seconds(90), every: .seconds(1)) {
                let procedures = await count("SELECT count(DISTINCT procedure) FROM cases")
                let rejections = await count("SELECT count(*) FROM rejections")
                let notices = await count("SELECT count(*) FROM deadlines WHERE warning_sent_at IS NOT NULL")
                let advanced = await count("SELECT count(*) FROM cases WHERE status IN ('in-court', 'decided', 'terminated', 'filed', 'concluded')")
                return procedures >= 6 && rejections >= 1 && notices >= 1 && advanced >= 2
            }
            let summary = """
                procedures \(await count("SELECT count(DISTINCT procedure) FROM cases")), \
                rejections \(await count("SELECT count(*) FROM rejections")), \
                notices \(await count("SELECT count(*) FROM deadlines WHERE warning_sent_at IS NOT NULL"))
                """
            #expect(lively, "\(summary)")
        }
    }
}
