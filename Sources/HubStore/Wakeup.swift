import NIOConcurrencyHelpers

/// Signals that stored state changed (outbox rows committed, deliveries
/// stored), so that loops waiting on it (the outbox relay, inbox long-polls)
/// look again at once instead of at their next poll. A signal wakes every
/// current waiter; one with no waiter is kept for the next wait. Waiters
/// must re-check the state: a wake-up is a hint, not a guarantee.
public final class Wakeup: Sendable {
    private struct State {
        var pending = false
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }
    private let state = NIOLockedValueBox(State())

    public init() {}

    public func signal() {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLockedValue { state in
            if state.waiters.isEmpty {
                state.pending = true
                return []
            }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns on a signal or after `timeout`, whichever comes first.
    public func wait(timeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let id: Int? = state.withLockedValue { state in
                if state.pending {
                    state.pending = false
                    return nil
                }
                state.nextID += 1
                state.waiters[state.nextID] = continuation
                return state.nextID
            }
            guard let id else {
                continuation.resume()
                return
            }
            Task { [state] in
                try? await Task.sleep(for: timeout)
                state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
            }
        }
    }
}
