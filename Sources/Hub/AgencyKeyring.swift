public import CaseModel
public import Foundation
public import HubStore
import NIOConcurrencyHelpers

/// The hub's in-memory copy of the agencies' public keys, reloaded every
/// minute. An event naming a key it does not know (registered or rotated
/// since) costs one indexed read of that agency's keys, so a fresh key is
/// never refused, a rotation's retirement is seen with it, and a forged key
/// id never triggers more than that read.
public final class AgencyKeyring: Sendable {
    private struct State {
        var keys: [AgencyID: [EventSignature.RegisteredKey]] = [:]
        var loadedAt: ContinuousClock.Instant?
    }
    private let store: AgencyKeyStore
    private let state = NIOLockedValueBox(State())

    public init(store: AgencyKeyStore) {
        self.store = store
    }

    /// Verifies an event's signature against its source agency's keys.
    public func verify(_ event: CloudEvent, from agency: AgencyID, receivedAt: Date) async throws -> EventSignature.Failure? {
        // A periodic full reload bounds how long a retirement done elsewhere goes unseen.
        let cached = state.withLockedValue { state in
            state.loadedAt.map { ContinuousClock.now - $0 < Self.maximumAge } == true ? state.keys[agency] ?? [] : nil
        }
        let keys: [EventSignature.RegisteredKey]
        if let cached { keys = cached } else { keys = try await reload()[agency] ?? [] }
        let failure = EventSignature.verify(event, keys: keys, receivedAt: receivedAt)
        guard case .unknownKey? = failure else { return failure }
        // A key registered since (a new adapter, a rotation, which also retires
        // the old key): that agency's keys are read again.
        let current = try await store.keys(of: agency)
        state.withLockedValue { $0.keys[agency] = current }
        return EventSignature.verify(event, keys: current, receivedAt: receivedAt)
    }

    static let maximumAge = Duration.seconds(60)

    private func reload() async throws -> [AgencyID: [EventSignature.RegisteredKey]] {
        let keys = try await store.allKeys()
        state.withLockedValue { state in
            state.keys = keys
            state.loadedAt = .now
        }
        return keys
    }
}
