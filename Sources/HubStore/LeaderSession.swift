public import Logging
public import Postgres

/// Leadership among processes through a PostgreSQL session-level advisory
/// lock: one process at a time runs the rounds. The lock lives as long as
/// the session that took it, so when the leading process dies its session
/// ends, the lock is released, and another process takes over at its next
/// try.
public struct LeaderSession: Sendable {
    private let client: PostgresClient
    private let lockKey: Int64

    /// `lockKey` names the job; every process running that job uses the same key.
    public init(client: PostgresClient, lockKey: Int64) {
        self.client = client
        self.lockKey = lockKey
    }

    /// While `running()` holds: every `interval`, tries to lead (once it
    /// leads, it keeps leading) and, while leading, runs `round`. Returns when
    /// `running()` turns false, releasing the lock; throws when the session
    /// breaks, for the caller to start again.
    public func lead(every interval: Duration, while running: () -> Bool, logger: Logger,
                     round: () async throws -> Void) async throws {
        try await client.withConnection { session in
            defer { logger.debug("leader session released", metadata: ["casehub.lock": "\(lockKey)"]) }
            var leading = false
            while running() {
                if !leading {
                    let rows = try await session.query("SELECT pg_try_advisory_lock(\(lockKey)) AS locked")
                    leading = try rows[0].decode("locked", as: Bool.self)
                    if leading { logger.info("this process leads", metadata: ["casehub.lock": "\(lockKey)"]) }
                }
                if leading {
                    // Also proves the session (and so the lock) is still alive.
                    _ = try await session.query("SELECT 1 AS alive")
                    try await round()
                }
                try? await Task.sleep(for: interval)
            }
            if leading {
                _ = try? await session.query("SELECT pg_advisory_unlock(\(lockKey)) AS unlocked")
            }
        }
    }
}

extension HubStore {
    /// The leader session for a job that one hub process at a time must run.
    public func leaderSession(lockKey: Int64) -> LeaderSession {
        LeaderSession(client: client, lockKey: lockKey)
    }
}
