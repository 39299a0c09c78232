import Adapters
import CaseHubServer
import CaseModel
import Foundation
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Every limit on what an agency's system may send answers with its status
/// and a problem body naming the limit; one agency's flood does not slow another.
@Suite(.serialized)
struct AdapterLimitsTests {
    @Test func theTokenBucketRefillsAtItsRate() {
        let limiter = AgencyRateLimiter(requestsPerSecond: 2, burst: 2)
        let start = ContinuousClock.now
        #expect(limiter.admit("zz-epb", now: start) == nil)
        #expect(limiter.admit("zz-epb", now: start) == nil)
        let wait = limiter.admit("zz-epb", now: start)
        #expect(wait == .milliseconds(500))
        #expect(limiter.admit("zz-court", now: start) == nil)
        #expect(limiter.admit("zz-epb", now: start + .milliseconds(600)) == nil)
    }

    @Test func oversizedInputAndFloodsAreRefusedWithProblems() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate", "zz-court"], configure: { configuration in
            configuration.adapterLimits.maxBodyBytes = 4_000
            configuration.adapterLimits.maxEventsPerBatch = 2
            configuration.adapterLimits.maxStringBytes = 100
            // Slow enough that no token comes back during the test, however loaded the machine.
            configuration.adapterLimits.requestsPerSecond = 0.001
            configuration.adapterLimits.burst = 4
        }) { _, http, _ in
            func post(_ agency: String, _ body: [UInt8], path: String = "events") async throws -> (Int, JSONValue) {
                try await http.sendRaw("POST", "/v1/agencies/\(agency)/\(path)", body)
            }
            // Body over the limit.
            let (big, bigProblem) = try await post("zz-epb", Array(repeating: UInt8(ascii: " "), count: 5_000))
            #expect(big == 413 && bigProblem["title"] == "Body too large", "\(bigProblem)")
            // More events than a batch may hold.
            let three = JSONValue.array((0..<3).map { AdapterAccessTests.referral(caseID: "zz-epb:limit-batch-\($0)") })
            let (batch, batchProblem) = try await post("zz-epb", three.canonicalBytes)
            #expect(batch == 413 && batchProblem["title"] == "Batch too large")
            // A string over the limit, named by its path.
            let long = AdapterAccessTests.referral(caseID: "zz-epb:limit-string", summary: String(repeating: "污", count: 40))
            let (string, stringProblem) = try await post("zz-epb", long.canonicalBytes)
            #expect(string == 413 && stringProblem["violations"]?[0]?["path"] == "/data/summary", "\(stringProblem)")
            // Under every limit: accepted.
            let (fine, _) = try await post("zz-epb", AdapterAccessTests.referral(caseID: "zz-epb:limit-fine").canonicalBytes)
            #expect(fine == 202)

            // The fifth request in a burst of four: 429 with Retry-After and a problem body.
            var request = URLRequest(url: URL(string: "http://127.0.0.1:\(http.port)/v1/agencies/zz-epb/inbox")!)
            request.setValue("Bearer \(try #require(http.tokens["zz-epb"]))", forHTTPHeaderField: "Authorization")
            let (data, response) = try await URLSession.shared.data(for: request)
            let limited = try #require(response as? HTTPURLResponse)
            #expect(limited.statusCode == 429)
            #expect(Int(limited.value(forHTTPHeaderField: "Retry-After") ?? "") ?? 0 >= 1)
            #expect(limited.value(forHTTPHeaderField: "Content-Type") == "application/problem+json")
            #expect(try JSONValue.parse(Array(data))["title"] == "Too many requests")

            // Another agency is not slowed by it; a native record with a long field is refused like an event.
            var record = try #require(try NativeMappingTests.samples(.procuratorate).first { !$0.isXML })
            var fields = try #require(try JSONValue.parse(record.bytes).objectValue)
            fields["xsnr"] = .string(String(repeating: "x", count: 101))
            record.bytes = JSONValue.object(fields).canonicalBytes
            let (recordStatus, recordProblem) = try await post("zz-procuratorate", record.bytes, path: "records")
            #expect(recordStatus == 413 && recordProblem["title"] == "String too long", "\(recordProblem)")
            let (other, _) = try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox", nil)
            #expect(other == 200)
        }
    }
}
