import Adapters
import CaseHubMetrics
import CaseModel
import HTTPCommon
import HubStore
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// What the agencies' routes report for administrators when they refuse a
/// request, and what they keep to themselves; then ``AdapterRefusalLog``,
/// which stores the reports without ever changing or holding up an answer.
struct AdapterRefusalsTests {
    static let epbToken = AgencyTokenStore.hash("token-epb")

    @Test func anotherAgencysTokenIsReportedAsAnImpersonation() async throws {
        let refusals = RecordedRefusals()
        try await withAgencyRoutes(refusals: refusals) { client in
            let response = try await client.call(.post, "/v1/agencies/zz-court/events", token: "token-epb", body: "[]")
            #expect(response.status == .forbidden)
            // The answer says nothing new to the caller.
            #expect(response.json?["detail"] == "this token belongs to another agency; it works only on that agency's paths")
            #expect(try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: "token-admin").status == .forbidden)
        }
        let reported = refusals.all
        #expect(reported.count == 2)
        let first = try #require(reported.first)
        #expect(first.agency == "zz-epb" && first.claimedAgency == "zz-court")
        #expect(first.code == .adapterImpersonation && first.httpStatus == 403)
        #expect(first.tokenHash == Self.epbToken)
        #expect(first.request == "POST /v1/agencies/zz-court/events")
        #expect(first.reason == "a token of zz-epb was used on the paths of zz-court")
        // Refused before its body was read.
        #expect(first.body.bytes == nil && first.body.sha256 == nil)
        // An administrator's token on an agency's path is one too.
        #expect(reported.last?.agency == AgencyTokenStore.administrators && reported.last?.claimedAgency == "zz-epb")
    }

    @Test func whatAnyoneCouldSendIsNotReported() async throws {
        let refusals = RecordedRefusals()
        var limits = AdapterLimits()
        limits.requestsPerSecond = 0.001
        limits.burst = 1
        try await withAgencyRoutes(limits: limits, refusals: refusals) { client async throws in
            // No token, an unknown one, an agency not served here.
            #expect(try await client.call(.post, "/v1/agencies/zz-epb/events", body: "{").status == .unauthorized)
            #expect(try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-nobody", body: "{").status == .unauthorized)
            #expect(try await client.call(.post, "/v1/agencies/zz-nowhere/events", token: "token-epb", body: "{").status == .notFound)
            // Over the agency's request budget: the limiter's answer, not a refusal of content.
            #expect(try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: "token-epb").status == .ok)
            #expect(try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: "{").status == .tooManyRequests)
        }
        #expect(refusals.all.isEmpty)
    }

    @Test func aRefusedSubmissionIsReportedWithItsTokenAndBody() async throws {
        let refusals = RecordedRefusals()
        let violations = [Violation(path: "/data/summary", rule: "required", message: "required property 'summary' is missing")]
        try await withAgencyRoutes(submitter: RecordingSubmitter(.refuse(.invalidEvents(violations))), refusals: refusals) { client in
            let body = #"{"specversion": "1.0"}"#
            let response = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: body)
            #expect(response.status == .unprocessableContent)
            let record = try await client.call(.post, "/v1/agencies/zz-epb/records", token: "token-epb", body: "{}")
            #expect(record.status == .unprocessableContent)
        }
        let reported = refusals.all
        #expect(reported.map(\.request) == ["POST /v1/agencies/zz-epb/events", "POST /v1/agencies/zz-epb/records"])
        let first = try #require(reported.first)
        #expect(first.agency == "zz-epb" && first.claimedAgency == nil && first.tokenHash == Self.epbToken)
        #expect(first.code == .schemaInvalid && first.httpStatus == 422 && first.violations == violations)
        #expect(first.reason == "1 rule(s) broken; nothing was submitted")
        #expect(first.body == RefusedBody(read: Array(#"{"specversion": "1.0"}"#.utf8)))
        #expect(first.body.bytes == Array(#"{"specversion": "1.0"}"#.utf8))
    }

    @Test func bodiesTheRoutesRefuseThemselvesAreReportedToo() async throws {
        var limits = AdapterLimits()
        limits.maxBodyBytes = 100
        let refusals = RecordedRefusals()
        let submitter = RecordingSubmitter()
        try await withAgencyRoutes(submitter: submitter, limits: limits, refusals: refusals) { client in
            #expect(try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: "{not json").status == .badRequest)
            let tooLarge = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: String(repeating: " ", count: 101))
            #expect(tooLarge.status == .contentTooLarge)
        }
        #expect(submitter.calls.isEmpty)
        let reported = refusals.all
        #expect(reported.map(\.code) == [.adapterMalformed, .adapterTooLarge])
        #expect(reported.map(\.httpStatus) == [400, 413])
        #expect(reported.first?.body.bytes == Array("{not json".utf8))
        // Not read beyond the limit: neither kept nor hashed.
        #expect(reported.last?.body.bytes == nil && reported.last?.body.sha256 == nil)
    }

    @Test func failuresThatAreNotTheAgencysAreNotReported() async throws {
        for answer: RecordingSubmitter.Answer in [.refuse(.hubUnavailable(failed: 1, total: 1)), .fail(SomeInternalFailure())] {
            let refusals = RecordedRefusals()
            try await withAgencyRoutes(submitter: RecordingSubmitter(answer), refusals: refusals) { client in
                let response = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: "{}")
                #expect(response.status.code >= 500)
            }
            #expect(refusals.all.isEmpty)
        }
    }

    @Test func aLargeBodyIsKeptOnlyAsItsSizeAndHash() {
        let small = Array(repeating: UInt8(ascii: "a"), count: RefusedBody.storedLimit)
        let large = small + [UInt8(ascii: "a")]
        #expect(RefusedBody(read: small).bytes == small)
        let kept = RefusedBody(read: large)
        #expect(kept.bytes == nil && kept.size == RefusedBody.storedLimit + 1)
        #expect(kept.sha256?.count == 32 && kept.sha256 != RefusedBody(read: small).sha256)
        #expect(RefusedBody.storedLimit == 64 << 10)
    }

    // MARK: the log

    static func rejection(_ agency: AgencyID, code: RefusalCode = .schemaInvalid) -> AdapterRejection {
        AdapterRejection(agency: agency, claimedAgency: code == .adapterImpersonation ? "zz-court" : nil, tokenHash: nil,
                         request: "POST /v1/agencies/\(agency)/events", httpStatus: 422, code: code, reason: "test",
                         body: RefusedBody(read: Array("{}".utf8)))
    }

    /// Polls the exposition until it holds `line` (the log writes in its own task).
    static func served(_ line: String, by metrics: CaseHubMetrics) async -> Bool {
        for _ in 0..<1_000 {
            if String(decoding: metrics.exposition(), as: UTF8.self).contains(line) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    @Test func aDatabaseThatFailsCostsTheCallerNothing() async throws {
        let metrics = CaseHubMetrics()
        let log = AdapterRefusalLog(writer: FailingWriter(), metrics: metrics, logger: Logger(label: "test.refusals"))
        let running = Task { await log.run() }
        let violations = [Violation(path: "/id", rule: "required", message: "attribute 'id' is required")]
        try await withAgencyRoutes(submitter: RecordingSubmitter(.refuse(.invalidEvents(violations))), refusals: log) { client in
            let response = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: "{}")
            #expect(response.status == .unprocessableContent)
            #expect(response.json?["violations"]?[0]?["path"] == "/id")
        }
        #expect(await Self.served(#"casehub_adapter_refusals_unrecorded_total{reason="database"} 1"#, by: metrics))
        #expect(await Self.served(#"casehub_adapter_refusals_total{code="envelope.invalid",agency="zz-epb"} 1"#, by: metrics))
        running.cancel()
        await running.value
    }

    @Test func eachAgencyHasARecordingBudgetAndImpersonationsAreCounted() async throws {
        let metrics = CaseHubMetrics()
        let writer = CollectingWriter()
        let log = AdapterRefusalLog(writer: writer, metrics: metrics, logger: Logger(label: "test.refusals"), recordsPerSecond: 0.001, burst: 3)
        #expect(await Self.served("casehub_adapter_impersonation_attempts_total 0", by: metrics))
        let running = Task { await log.run() }
        for _ in 0..<5 { log.record(Self.rejection("zz-epb", code: .adapterImpersonation)) }
        // Another agency's budget is its own.
        log.record(Self.rejection("zz-court"))
        #expect(await Self.served(#"casehub_adapter_refusals_unrecorded_total{reason="budget"} 2"#, by: metrics))
        #expect(await Self.served("casehub_adapter_impersonation_attempts_total 5", by: metrics))
        var stored = false
        for _ in 0..<1_000 where !stored {
            stored = writer.all.count == 4
            if !stored { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(writer.all.map(\.agency) == ["zz-epb", "zz-epb", "zz-epb", "zz-court"])
        running.cancel()
        await running.value
    }
}

struct DatabaseDown: Error {}

/// A database that refuses every write.
struct FailingWriter: AdapterRejectionWriting {
    func record(_ rejection: AdapterRejection) async throws {
        throw DatabaseDown()
    }
}

/// A database that keeps every write.
final class CollectingWriter: AdapterRejectionWriting {
    private let written = Mutex<[AdapterRejection]>([])

    var all: [AdapterRejection] { written.withLock { $0 } }

    func record(_ rejection: AdapterRejection) async throws {
        written.withLock { $0.append(rejection) }
    }
}
