public import Logging
import ServiceLifecycle

/// How long to wait between tries: doubling from `initial` up to `maximum`.
public struct BackoffPolicy: Sendable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(5)) {
        self.initial = initial
        self.maximum = maximum
    }
}

/// Runs `operation` until it succeeds, waiting longer after each failure
/// (each logged as an error with `what`), or until the service shuts down.
/// The first try runs even during shutdown, so that work in hand is finished
/// when it can be. Returns nil when it stopped for shutdown or cancellation, so that the
/// caller can leave its work for the next owner (offsets uncommitted,
/// records unmarked) instead of treating it as done.
///
/// For work that must not be dropped: a batch to apply, deliveries to store.
/// An operation that can never succeed retries for ever; callers keep such
/// failures out (isolating the failing item, refusing it) before retrying.
public func retryWithBackoff<T>(
    _ what: String, policy: BackoffPolicy = BackoffPolicy(), logger: Logger,
    metadata: Logger.Metadata = [:], _ operation: () async throws -> T
) async -> T? {
    var delay = policy.initial
    while true {
        do {
            return try await operation()
        } catch {
            if Task.isShuttingDownGracefully || Task.isCancelled { return nil }
            var details = metadata
            details["error"] = "\(error)"
            logger.error("\(what) failed; retrying in \(delay)", metadata: details)
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, policy.maximum)
        }
    }
}
