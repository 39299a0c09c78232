public import HubStore
public import Logging
public import Postgres
public import ServiceLifecycle

/// Wakes this process's outbox relay whenever any hub process commits outbox
/// records (PostgreSQL `NOTIFY` on ``HubStore/outboxChannel``), so that
/// records written by another process's pipeline are published at once, not
/// at the relay's next look. Notifications are hints: the relay still looks
/// now and then, for any sent while this listener was reconnecting.
public final class OutboxNotifications: Service, Sendable {
    private let listener: PostgresListener
    private let wakeup: Wakeup

    public init(database: PostgresConfiguration, wakeup: Wakeup, logger: Logger) {
        self.listener = PostgresListener(configuration: database, channels: [HubStore.outboxChannel], logger: logger)
        self.wakeup = wakeup
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.listener.run() }
            for await _ in listener.notifications { wakeup.signal() }
        }
    }
}
