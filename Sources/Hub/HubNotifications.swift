public import HubStore
public import Logging
public import Postgres
public import ServiceLifecycle

/// Wakes this process's loops when any process commits work for them
/// (PostgreSQL `NOTIFY`), on one listening connection: the outbox relays when
/// a hub commits outbox records (``HubStore/outboxChannel``), so that records
/// written by another process's pipeline are published at once; the service
/// recorder when an adapter records a delivery that starts clocks
/// (``HubStore/serviceChannel``). Notifications are hints: the loops still
/// look now and then, for any sent while this listener was reconnecting.
public final class HubNotifications: Service, Sendable {
    private let listener: PostgresListener
    private let relayWakeup: Wakeup
    private let serviceWakeup: Wakeup

    public init(database: PostgresConfiguration, relayWakeup: Wakeup, serviceWakeup: Wakeup, logger: Logger) {
        self.listener = PostgresListener(configuration: database, channels: [HubStore.outboxChannel, HubStore.serviceChannel], logger: logger)
        self.relayWakeup = relayWakeup
        self.serviceWakeup = serviceWakeup
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.listener.run() }
            for await notification in listener.notifications {
                (notification.channel == HubStore.serviceChannel ? serviceWakeup : relayWakeup).signal()
            }
        }
    }
}
