import Backoff
public import HubStore
public import Logging
public import ServiceLifecycle

/// Writes the webhook changes the database recorded into the audit trail
/// (``HubStore/auditWebhookChanges(limit:at:)``), every `interval`. The
/// adapters change webhooks but their role may not write the audit trail;
/// the hub's may. Every hub process runs one: a change goes to whichever
/// takes it first, once.
public final class WebhookChangeAuditor: Service, Sendable {
    private let store: HubStore
    private let interval: Duration
    private let logger: Logger

    public init(store: HubStore, interval: Duration = .milliseconds(500), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            // A round that fails (the database away) is tried again, waiting longer each time.
            guard let audited = await retryWithBackoff("webhook change audit", logger: logger, { try await store.auditWebhookChanges() }) else { break }
            if audited > 0 {
                logger.info("webhook changes audited", metadata: ["casehub.count": "\(audited)"])
                continue
            }
            try? await Task.sleep(for: interval)
        }
    }
}
