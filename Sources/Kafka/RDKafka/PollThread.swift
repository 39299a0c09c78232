import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// A dedicated thread that repeatedly runs one poll step until stopped.
/// librdkafka events are read here, never on Swift's cooperative pool.
final class PollThread: Sendable {
    private let stopRequested = NIOLockedValueBox(false)
    private let finished = DispatchSemaphore(value: 0)

    /// Starts `step`, called in a loop until ``stop()``. `step` should block for
    /// a short poll timeout so that a stop is noticed quickly.
    init(name: String, step: @escaping @Sendable () -> Void) {
        let thread = Thread { [stopRequested, finished] in
            while !stopRequested.withLockedValue({ $0 }) {
                step()
            }
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Asks the loop to end and waits for its current step to finish.
    func stop() {
        let first = stopRequested.withLockedValue { stopped in
            defer { stopped = true }
            return !stopped
        }
        if first { finished.wait() }
    }
}
