import AsyncHTTPClient
public import CaseModel
import Crypto
import Foundation
public import HubStore
public import Logging
import NIOCore
import NIOHTTP1
public import ServiceLifecycle

/// Pushes each agency's deliveries to its webhook, oldest first: a 2xx
/// answer acknowledges the delivery; anything else (or no answer within the
/// timeout) is retried with exponential backoff, and nothing after it is
/// pushed meanwhile, so the agency sees its events in order.
///
/// Each POST carries the event in CloudEvents structured JSON and
/// `X-CaseHub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`,
/// `X-CaseHub-Cursor` and `X-CaseHub-Attempt`.
public final class WebhookPusher: Service, Sendable {
    public struct Configuration: Sendable {
        public var initialBackoff: Duration = .seconds(1)
        public var maxBackoff: Duration = .seconds(600)
        public var requestTimeout: Duration = .seconds(10)
        public var batchSize = 50
        public var idlePoll: Duration = .seconds(1)
        public init() {}

        /// 1 s, 2 s, 4 s … up to the maximum.
        func backoff(attempts: Int) -> Duration {
            let factor = 1 << min(max(attempts - 1, 0), 20)
            return min(initialBackoff * factor, maxBackoff)
        }
    }

    private let agencies: [AgencyID]
    private let store: WebhookStore
    private let delivered: Wakeup
    private let configuration: Configuration
    private let logger: Logger

    public init(agencies: [AgencyID], store: WebhookStore, delivered: Wakeup, configuration: Configuration = .init(), logger: Logger) {
        self.agencies = agencies
        self.store = store
        self.delivered = delivered
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        // No redirects: a push goes to the registered address or nowhere.
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        let configuration = self.configuration
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                var pushed = 0
                do {
                    for agency in try await self.store.agenciesWithWebhooks(among: self.agencies) {
                        pushed += try await self.store.pushRound(
                            agency: agency, limit: self.configuration.batchSize,
                            backoff: { configuration.backoff(attempts: $0) },
                            push: { webhook, pending in await self.push(pending, to: webhook, with: client) }) ?? 0
                    }
                } catch {
                    self.logger.error("webhook round failed; retrying", metadata: ["error": "\(error)"])
                }
                if pushed == 0 { await self.delivered.wait(timeout: self.configuration.idlePoll) }
            }
        }
        try? await client.shutdown()
    }

    /// Pushes in order until one fails; returns how many succeeded and why the next failed.
    private func push(_ pending: [WebhookStore.PendingPush], to webhook: WebhookStore.Webhook, with client: HTTPClient) async
        -> (succeeded: Int, failure: String?) {
        for (index, item) in pending.enumerated() {
            let body = Array(item.eventJSON.utf8)
            let timestamp = String(Int(Date().timeIntervalSince1970))
            var request = HTTPClientRequest(url: webhook.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/cloudevents+json")
            request.headers.add(name: "X-CaseHub-Signature", value: "t=\(timestamp),v1=\(Self.signature(secret: webhook.secret, timestamp: timestamp, body: body))")
            request.headers.add(name: "X-CaseHub-Cursor", value: String(item.cursor))
            request.headers.add(name: "X-CaseHub-Attempt", value: String(item.attempts + 1))
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await client.execute(request, timeout: .milliseconds(Int64(configuration.requestTimeout.components.seconds * 1000)))
                guard (200..<300).contains(response.status.code) else {
                    logger.warning("webhook refused a delivery; will retry", metadata: [
                        "casehub.agency": "\(webhook.agency)", "http.status": "\(response.status.code)", "delivery.cursor": "\(item.cursor)",
                    ])
                    return (index, "HTTP \(response.status.code) from \(webhook.url)")
                }
            } catch {
                logger.warning("webhook unreachable; will retry", metadata: [
                    "casehub.agency": "\(webhook.agency)", "error": "\(error)", "delivery.cursor": "\(item.cursor)",
                ])
                return (index, "\(error)")
            }
        }
        return (pending.count, nil)
    }

    /// Hex HMAC-SHA256 over "<timestamp>.<body>": what a receiver recomputes to trust a push.
    public static func signature(secret: String, timestamp: String, body: [UInt8]) -> String {
        let key = SymmetricKey(data: Array(secret.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array((timestamp + ".").utf8) + body, using: key)
        return mac.map { String(format: "%02x", $0) }.joined()
    }
}
