import CaseModel
import Foundation
import HubStore
import Testing
import TestSupport
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `GET /metrics` after real traffic: events by outcome, batches, outbox,
/// deadlines, lag and HTTP requests, in Prometheus text format.
@Suite(.serialized)
struct MetricsTests {
    func scrape(_ port: Int, token: String?) async throws -> String {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain") == true)
        return String(decoding: data, as: UTF8.self)
    }

    @Test func metricsDescribeWhatHappened() async throws {
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate", "zz-court"]) { _, http, database in
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "prometheus", by: .administrator("test"))
            let accepted = AdapterAccessTests.referral(caseID: "zz-epb:case-metrics")
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", accepted).0 == 202)
            let outOfTurn: JSONValue = .object([
                "specversion": "1.0", "id": .string(UUID().uuidString.lowercased()), "source": "zz-court",
                "type": "casehub.litigation.accepted.v1", "time": "2026-11-29T08:00:00+08:00", "subject": "case-metrics-none",
                "data": ["caseNumber": "（2026）湘02民初3号", "acceptedOn": "2026-11-29", "causeOfAction": "x"],
            ])
            #expect(try await http.send("POST", "/v1/agencies/zz-court/events", outOfTurn).0 == 202)
            _ = try await http.waitForInbox("zz-court", count: 1)
            try await http.waitForEvent("zz-procuratorate", type: "casehub.referral.submitted.v1", subject: "zz-epb:case-metrics")

            // The receiver's adapter records its latency just after storing: the inbox may show the event a moment earlier.
            let measured = await eventually(timeout: .seconds(10)) {
                (try? await scrape(http.port, token: admin))?.contains("casehub_end_to_end_latency_seconds_count 1") == true
            }
            #expect(measured)
            let text = try await scrape(http.port, token: admin)
            #expect(text.contains(#"casehub_events_total{outcome="accepted",type="casehub.referral.submitted.v1",agency="zz-epb"} 1"#), "\(text)")
            #expect(text.contains(#"casehub_events_total{outcome="refused",type="casehub.litigation.accepted.v1",agency="zz-court",code="case.unknown"} 1"#))
            #expect(text.contains("casehub_batch_size_count"))
            #expect(text.contains("casehub_batch_apply_seconds_bucket"))
            #expect(text.contains("# TYPE casehub_outbox_backlog gauge"))
            #expect(text.contains(#"casehub_deadlines{stage="running"}"#))
            #expect(text.contains("casehub_hub_consumer_lag"))
            #expect(text.contains("casehub_outbox_published_total"))
            // Latency: two events judged (one accepted, one refused), one referral stored in the receiver's inbox.
            #expect(text.contains("casehub_hub_event_latency_seconds_count 2"), "\(text)")
            #expect(text.contains("casehub_end_to_end_latency_seconds_count 1"))
            #expect(text.contains("casehub_adapter_consumer_lag"))
            // Requests by route pattern, not by raw path.
            let requests = text.split(separator: "\n").filter { $0.hasPrefix("casehub_http_requests_total{") }
            #expect(requests.contains { $0.contains(#"method="POST""#) && $0.contains("events") && $0.contains(#"status="202""#) })
            #expect(!requests.contains { $0.contains("zz-epb:case-metrics") })
        }
    }
}
