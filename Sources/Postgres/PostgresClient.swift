public import Logging
import NIOConcurrencyHelpers
import NIOPosix
public import ServiceLifecycle

/// A bounded pool of PostgreSQL sessions.
///
/// Sessions are opened on demand up to ``PostgresConfiguration/maxConnections``;
/// a caller that finds none free waits up to the acquire timeout. A session is
/// checked before each lease (a backend killed while idle is noticed and
/// replaced) and dropped when a statement finds its connection broken.
///
/// Run it as a `Service` (``run()``) or call ``shutdown()`` when done.
public final class PostgresClient: Service, Sendable {
    public enum IsolationLevel: String, Sendable {
        case readCommitted = "READ COMMITTED"
        case repeatableRead = "REPEATABLE READ"
        case serializable = "SERIALIZABLE"
    }

    public let configuration: PostgresConfiguration
    private let logger: Logger
    private let threadPool: NIOThreadPool
    private let pool: NIOLockedValueBox<PoolState>

    public init(configuration: PostgresConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        threadPool = NIOThreadPool(numberOfThreads: max(1, configuration.maxConnections))
        threadPool.start()
        pool = NIOLockedValueBox(PoolState(maxConnections: max(1, configuration.maxConnections)))
    }

    // MARK: Service

    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Closes idle sessions and fails waiters; sessions in use close on return.
    public func shutdown() async {
        let (idle, waiters) = pool.withLockedValue { $0.close() }
        _ = idle
        for waiter in waiters { waiter.continuation.resume(throwing: PostgresError(.closed, "the database client is shut down")) }
        try? await threadPool.shutdownGracefully()
    }

    // MARK: convenience

    /// Runs one statement on a pooled session and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await withConnection { try await $0.query(query) }
    }

    /// Runs one statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await withConnection { try await $0.execute(query) }
    }

    // MARK: leases

    /// Leases a session for the closure's duration.
    public func withConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection = try await acquire()
        do {
            let result = try await body(connection)
            release(connection)
            return result
        } catch {
            release(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back
    /// when it throws. A serialization failure or deadlock retries the whole
    /// transaction (so `body` must not have effects outside the database).
    ///
    /// BEGIN is not a round trip of its own: it goes out with the body's
    /// first statement or pipeline. The body may end its last pipeline with
    /// ``PostgresQuery/commit`` to save the COMMIT's round trip too; a
    /// transaction still open when the body returns is committed here.
    public func withTransaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted,
        _ body: (PostgresConnection) async throws -> T
    ) async throws -> T {
        var attempt = 1
        while true {
            do {
                return try await withConnection { connection in
                    try await connection.sendWithNext(PostgresQuery(unsafeSQL: "BEGIN ISOLATION LEVEL \(isolation.rawValue)"))
                    do {
                        let result = try await body(connection)
                        // Nothing sent, or committed by the body's last pipeline: nothing to commit.
                        if try await connection.dropUnsentAndCheckTransaction() {
                            try await connection.executeScript(unsafeSQL: "COMMIT")
                        }
                        return result
                    } catch {
                        if connection.pq.isHealthy, (try? await connection.dropUnsentAndCheckTransaction()) == true {
                            try? await connection.executeScript(unsafeSQL: "ROLLBACK")
                        }
                        throw error
                    }
                }
            } catch let error as PostgresError where error.isTransactionRetryable && attempt < configuration.transactionAttempts {
                logger.debug("transaction retried", metadata: ["postgres.sqlstate": "\(error.sqlState ?? "")", "attempt": "\(attempt)"])
                attempt += 1
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 << attempt))))
            }
        }
    }

    /// Counts for monitoring: sessions open, idle, and callers waiting.
    public var statistics: (open: Int, idle: Int, waiting: Int) {
        pool.withLockedValue { ($0.open, $0.idle.count, $0.waiters.count) }
    }

    private func acquire() async throws -> PostgresConnection {
        while true {
            let grant: PoolState.Grant
            switch pool.withLockedValue({ $0.acquire() }) {
            case .closed:
                throw PostgresError(.closed, "the database client is shut down")
            case .ready(let grantNow):
                grant = grantNow
            case .wait(let waiterID):
                grant = try await waitForGrant(waiterID)
            }
            switch grant {
            case .connection(let connection):
                let healthy = (try? await connection.onThread { $0.checkIdle() }) ?? false
                if healthy { return connection }
                logger.info("replacing a broken database session", metadata: ["postgres.session": "\(connection.id)"])
                discard(connection)
            case .create(let id):
                do {
                    return try await connect(id: id)
                } catch {
                    forgetFailedOpen()
                    throw error
                }
            }
        }
    }

    private func waitForGrant(_ waiterID: Int) async throws -> PoolState.Grant {
        let timeout = configuration.acquireTimeoutMilliseconds
        let pool = self.pool
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let registered = pool.withLockedValue { $0.register(waiterID, continuation) }
                guard registered else {
                    continuation.resume(throwing: PostgresError(.closed, "the database client is shut down"))
                    return
                }
                Task {
                    try? await Task.sleep(for: .milliseconds(timeout))
                    if let waiter = pool.withLockedValue({ $0.removeWaiter(waiterID) }) {
                        waiter.continuation.resume(throwing: PostgresError(
                            .poolTimeout, "no database session became free within \(timeout) ms (all \(self.configuration.maxConnections) in use)"))
                    }
                }
            }
        } onCancel: {
            if let waiter = pool.withLockedValue({ $0.removeWaiter(waiterID) }) {
                waiter.continuation.resume(throwing: CancellationError())
            }
        }
    }

    private func connect(id: Int) async throws -> PostgresConnection {
        let configuration = self.configuration
        let pq = try await threadPool.runIfActive { () throws -> UncheckedBox<PQConnection> in
            let pq = try PQConnection(
                conninfo: configuration.connectionString,
                applicationName: configuration.applicationName,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds
            )
            // Session settings the decoders rely on, and the statement bound.
            _ = try pq.execute(
                """
                SELECT set_config('statement_timeout', \(String(configuration.statementTimeoutMilliseconds)), false),
                       set_config('TimeZone', 'UTC', false),
                       set_config('DateStyle', 'ISO, YMD', false)
                """,
                prepare: false
            )
            return UncheckedBox(pq)
        }
        logger.debug("database session opened", metadata: ["postgres.session": "\(id)"])
        return PostgresConnection(pq: pq.value, threadPool: threadPool, id: id)
    }

    private func release(_ connection: PostgresConnection) {
        guard connection.pq.isHealthy else {
            discard(connection)
            return
        }
        if let (waiter, grant) = pool.withLockedValue({ $0.release(connection) }) {
            waiter.continuation.resume(returning: grant)
        }
    }

    private func discard(_ connection: PostgresConnection) {
        if let (waiter, grant) = pool.withLockedValue({ $0.discard(connection) }) {
            waiter.continuation.resume(returning: grant)
        }
    }

    private func forgetFailedOpen() {
        if let (waiter, grant) = pool.withLockedValue({ $0.forgetFailedOpen() }) {
            waiter.continuation.resume(returning: grant)
        }
    }
}

/// The pool's bookkeeping: a pure state machine run under the lock. Its
/// methods return what to do; continuations are resumed outside the lock.
struct PoolState {
    enum Grant: Sendable {
        case connection(PostgresConnection)
        case create(id: Int)
    }
    enum Acquire { case ready(Grant), wait(Int), closed }
    struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<Grant, any Error>
    }

    let maxConnections: Int
    private(set) var open = 0
    private(set) var idle: [PostgresConnection] = []
    private(set) var waiters: [Waiter] = []
    private var nextID = 1
    private var isClosed = false

    init(maxConnections: Int) {
        self.maxConnections = maxConnections
    }

    mutating func acquire() -> Acquire {
        if isClosed { return .closed }
        if let connection = idle.popLast() { return .ready(.connection(connection)) }
        if open < maxConnections {
            open += 1
            return .ready(.create(id: takeID()))
        }
        return .wait(takeID())
    }

    mutating func register(_ id: Int, _ continuation: CheckedContinuation<Grant, any Error>) -> Bool {
        if isClosed { return false }
        waiters.append(Waiter(id: id, continuation: continuation))
        return true
    }

    mutating func removeWaiter(_ id: Int) -> Waiter? {
        guard let index = waiters.firstIndex(where: { $0.id == id }) else { return nil }
        return waiters.remove(at: index)
    }

    /// A healthy session comes back: first waiter gets it, else it idles.
    mutating func release(_ connection: PostgresConnection) -> (Waiter, Grant)? {
        if isClosed {
            open -= 1
            return nil
        }
        if !waiters.isEmpty { return (waiters.removeFirst(), .connection(connection)) }
        idle.append(connection)
        return nil
    }

    /// A broken session is dropped: its slot goes to a waiter as a new session.
    mutating func discard(_ connection: PostgresConnection) -> (Waiter, Grant)? {
        forgetFailedOpen()
    }

    mutating func forgetFailedOpen() -> (Waiter, Grant)? {
        if !isClosed, !waiters.isEmpty { return (waiters.removeFirst(), .create(id: takeID())) }
        open -= 1
        return nil
    }

    mutating func close() -> ([PostgresConnection], [Waiter]) {
        isClosed = true
        let result = (idle, waiters)
        open -= idle.count
        idle = []
        waiters = []
        return result
    }

    private mutating func takeID() -> Int {
        defer { nextID += 1 }
        return nextID
    }
}
