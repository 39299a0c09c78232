import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
import NIOConcurrencyHelpers
public import ServiceLifecycle

/// Receives `NOTIFY`s on a dedicated session and thread.
///
/// Notifications are wake-up hints, not a queue: any sent while the session
/// is reconnecting are lost, so a consumer re-reads the state they point at
/// (and polls now and then). Send one with ``PostgresClient/notify(channel:payload:)``.
public final class PostgresListener: Service, Sendable {
    public let notifications: AsyncStream<PostgresNotification>
    private let continuation: AsyncStream<PostgresNotification>.Continuation
    private let configuration: PostgresConfiguration
    private let channels: [String]
    private let logger: Logger
    private let stopRequested = NIOLockedValueBox(false)
    /// Becomes true once the channels are listened to (for tests and readiness).
    private let listening = NIOLockedValueBox(false)

    public init(configuration: PostgresConfiguration, channels: [String], logger: Logger) {
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
        (notifications, continuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(10_000))
    }

    public var isListening: Bool { listening.withLockedValue { $0 } }

    /// Listens until cancelled or shut down gracefully.
    public func run() async throws {
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread { [self] in
            loop()
            finished.signal()
        }
        thread.name = "casehub.postgres.listener"
        thread.start()
        await withTaskCancellationHandler {
            try? await gracefulShutdown()
        } onCancel: {
            stopRequested.withLockedValue { $0 = true }
        }
        stopRequested.withLockedValue { $0 = true }
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                finished.wait()
                done.resume()
            }
        }
        continuation.finish()
    }

    private var shouldStop: Bool { stopRequested.withLockedValue { $0 } }

    private func loop() {
        var backoffMilliseconds = 100
        while !shouldStop {
            do {
                let pq = try PQConnection(
                    conninfo: configuration.connectionString,
                    applicationName: configuration.applicationName + "-listener",
                    connectTimeoutSeconds: configuration.connectTimeoutSeconds
                )
                for channel in channels {
                    try pq.executeScript(unsafeSQL: "LISTEN \(PostgresIdentifier.quote(channel))")
                }
                listening.withLockedValue { $0 = true }
                backoffMilliseconds = 100
                while !shouldStop {
                    var descriptor = pollfd(fd: pq.socket, events: Int16(POLLIN), revents: 0)
                    let ready = poll(&descriptor, 1, 200)
                    if ready < 0 && errno != EINTR { throw PostgresError(.connection, "poll failed: errno \(errno)") }
                    if ready > 0 {
                        for notification in try pq.takeNotifications() { continuation.yield(notification) }
                    }
                    if !pq.isHealthy { throw PostgresError(.connection, "listener session lost") }
                }
            } catch {
                listening.withLockedValue { $0 = false }
                if shouldStop { break }
                logger.warning("database listener reconnecting", metadata: ["error": "\(error)"])
                usleep(useconds_t(backoffMilliseconds * 1000))
                backoffMilliseconds = min(backoffMilliseconds * 2, 5_000)
            }
        }
        listening.withLockedValue { $0 = false }
    }
}

extension PostgresClient {
    /// Sends a notification (`pg_notify`) that ``PostgresListener``s on `channel` receive.
    public func notify(channel: String, payload: String = "") async throws {
        try await execute("SELECT pg_notify(\(channel), \(payload))")
    }
}
