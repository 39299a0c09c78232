import CaseModel
import Foundation
import HubStore
import NIOConcurrencyHelpers

/// The hub's in-memory copy of the agencies' public keys. Loaded once, and
/// reloaded (at most every few seconds) when an event names a key it does
/// not know yet — a key registered or rotated since.
public final class AgencyKeyring: Sendable {
    private struct State {
        var keys: [AgencyID: [EventSignature.RegisteredKey]] = [:]
        var loadedAt: ContinuousClock.Instant?
    }
    private let store: AgencyKeyStore
    private let state = NIOLockedValueBox(State())
    private let minimumReloadInterval: Duration

    public init(store: AgencyKeyStore, minimumReloadInterval: Duration = .seconds(2)) {
        self.store = store
        self.minimumReloadInterval = minimumReloadInterval
    }

    /// Verifies an event's signature against its source agency's keys.
    public func verify(_ event: CloudEvent, from agency: AgencyID) async throws -> EventSignature.Failure? {
        let cached = state.withLockedValue { $0.loadedAt == nil ? nil : $0.keys[agency] ?? [] }
        let keys: [EventSignature.RegisteredKey]
        if let cached { keys = cached } else { keys = try await reload()[agency] ?? [] }
        let failure = EventSignature.verify(event, keys: keys)
        guard case .unknownKey? = failure, shouldReload() else { return failure }
        return EventSignature.verify(event, keys: try await reload()[agency] ?? [])
    }

    private func shouldReload() -> Bool {
        state.withLockedValue { state in
            guard let loadedAt = state.loadedAt else { return true }
            return ContinuousClock.now - loadedAt >= minimumReloadInterval
        }
    }

    private func reload() async throws -> [AgencyID: [EventSignature.RegisteredKey]] {
        let keys = try await store.allKeys()
        state.withLockedValue { state in
            state.keys = keys
            state.loadedAt = .now
        }
        return keys
    }
}
