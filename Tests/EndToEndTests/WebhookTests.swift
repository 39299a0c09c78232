import Adapters
import CaseHubServer
import CaseModel
import Crypto
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import TestSupport
import Testing

/// Deliveries pushed to an agency's webhook: signed, in order, retried with
/// backoff until a 2xx acknowledges them.
@Suite(.serialized)
struct WebhookTests {
    /// An agency's HTTP endpoint: records what it is sent; fails the first `failures` requests.
    final class Receiver: Sendable {
        struct Received: Sendable {
            let body: [UInt8]
            let signature: String
            let cursor: String
            let attempt: String
        }
        let received = NIOLockedValueBox<[Received]>([])
        let failuresLeft: NIOLockedValueBox<Int>
        private let group: ServiceGroup
        let port: Int

        init(failures: Int) async throws {
            failuresLeft = NIOLockedValueBox(failures)
            let router = Router()
            let received = self.received
            let failuresLeft = self.failuresLeft
            router.post("hook") { request, _ -> Response in
                var request = request
                let body = try await request.collectBody(upTo: 1 << 20)
                func header(_ name: String) -> String {
                    request.headers.first { $0.name.canonicalName == name.lowercased() }?.value ?? ""
                }
                received.withLockedValue {
                    $0.append(Received(body: Array(body.readableBytesView),
                                       signature: header("X-CaseHub-Signature"), cursor: header("X-CaseHub-Cursor"),
                                       attempt: header("X-CaseHub-Attempt")))
                }
                let fail = failuresLeft.withLockedValue { left -> Bool in
                    defer { left = max(0, left - 1) }
                    return left > 0
                }
                return Response(status: fail ? .serviceUnavailable : .noContent)
            }
            let ports = AsyncStream.makeStream(of: Int.self)
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                  onServerRunning: { ports.continuation.yield($0.localAddress?.port ?? 0) },
                                  logger: Logger(label: "test.webhook-receiver"))
            group = ServiceGroup(services: [app], logger: Logger(label: "test.webhook-receiver"))
            let group = self.group
            Task { try await group.run() }
            var iterator = ports.stream.makeAsyncIterator()
            port = await iterator.next() ?? 0
        }

        func stop() async { await group.triggerGracefulShutdown() }
    }

    static func referral(caseID: String) -> JSONValue {
        .object([
            "specversion": "1.0", "id": .string(UUID().uuidString.lowercased()), "source": "zz-epb",
            "type": "casehub.referral.submitted.v1", "time": "2026-11-29T08:00:00+08:00", "subject": .string(caseID),
            "data": .object(["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"]),
        ])
    }

    @Test func pushesSignedInOrderAndRetriesUntilAcknowledged() async throws {
        let receiver = try await Receiver(failures: 2)
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], configure: {
            $0.webhooks.initialBackoff = .milliseconds(100)
            $0.webhooks.maxBackoff = .milliseconds(400)
            $0.webhooks.idlePoll = .milliseconds(100)
        }) { _, http, _ in
            let (status, registered) = try await http.send("PUT", "/v1/agencies/zz-procuratorate/webhook",
                                                           ["url": .string("http://127.0.0.1:\(receiver.port)/hook")])
            #expect(status == 200)
            let secret = try #require(registered["secret"]?.stringValue)

            let cases = (1...3).map { "zz-epb:case-hook-\($0)-\(UUID().uuidString.prefix(6))" }
            for caseID in cases {
                #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", Self.referral(caseID: caseID)).0 == 202)
            }
            let arrived = await eventually(timeout: .seconds(60)) {
                receiver.received.withLockedValue { $0.count } >= 5
            }
            #expect(arrived)
            let received = receiver.received.withLockedValue { $0 }
            // Two refusals of the first delivery, then all three in inbox (cursor) order, each
            // accepted once. (Events of different cases have no order between them: the
            // hub may apply them in any order; the cursor order is what the agency sees.)
            #expect(received.map(\.attempt).prefix(3) == ["1", "2", "3"])
            #expect(Set(received.prefix(3).map(\.cursor)).count == 1)
            let accepted = received.dropFirst(2)
            let cursors = accepted.compactMap { Int64($0.cursor) }
            #expect(cursors == cursors.sorted() && Set(cursors).count == 3)
            let subjects = try accepted.map { try JSONValue.parse($0.body)["subject"]?.stringValue ?? "" }
            #expect(Set(subjects) == Set(cases))
            for push in received {
                let parts = Dictionary(uniqueKeysWithValues: push.signature.split(separator: ",").map {
                    let pair = $0.split(separator: "=", maxSplits: 1)
                    return (String(pair[0]), String(pair[1]))
                })
                #expect(parts["v1"] == WebhookPusher.signature(secret: secret, timestamp: parts["t"] ?? "", body: push.body))
            }
            // Acknowledged by the 2xx: nothing pending, the failure remembered.
            let acknowledged = await eventually(timeout: .seconds(10)) {
                (try? await http.send("GET", "/v1/agencies/zz-procuratorate/webhook", nil).1["pending"]) == .integer(0)
            }
            #expect(acknowledged)
            let (_, state) = try await http.send("GET", "/v1/agencies/zz-procuratorate/webhook", nil)
            #expect(state["lastError"]?.stringValue?.contains("503") == true)
            #expect(state["lastSuccessAt"] != nil)
            let (_, inbox) = try await http.send("GET", "/v1/agencies/zz-procuratorate/inbox", nil)
            #expect(inbox["events"] == [])

            // Invalid registrations change nothing; removal stops pushing.
            #expect(try await http.send("PUT", "/v1/agencies/zz-procuratorate/webhook", ["url": "ftp://example"]).0 == 422)
            #expect(try await http.send("PUT", "/v1/agencies/zz-procuratorate/webhook",
                                        ["url": .string("http://127.0.0.1:\(receiver.port)/hook"), "secret": "short"]).0 == 422)
            #expect(try await http.send("DELETE", "/v1/agencies/zz-procuratorate/webhook", nil).0 == 204)
            #expect(try await http.send("GET", "/v1/agencies/zz-procuratorate/webhook", nil).0 == 404)
        }
        await receiver.stop()
    }
}
