public import CaseModel
public import Crypto
import Foundation
public import HubStore
public import Logging
public import ServiceLifecycle

/// Writes a signed checkpoint of the audit chains' heads every few seconds
/// when they moved (``AuditCheckpoint``), keeps it in the database and
/// publishes it on the `checkpoints` topic through the outbox. One hub
/// process at a time writes them (a leader session).
public final class CheckpointWriter: Service, Sendable {
    static let leaderLockKey: Int64 = 0x4341_5345_4855_4204

    private let store: HubStore
    private let key: Curve25519.Signing.PrivateKey
    private let origin: String
    private let topic: String
    private let interval: Duration
    private let relayWakeup: Wakeup
    private let logger: Logger

    public init(store: HubStore, key: Curve25519.Signing.PrivateKey, topics: TopicNames, interval: Duration,
                relayWakeup: Wakeup, logger: Logger) {
        self.store = store
        self.key = key
        self.origin = topics.prefix
        self.topic = topics.checkpoints
        self.interval = interval
        self.relayWakeup = relayWakeup
        self.logger = logger
    }

    public func run() async throws {
        var last: [AuditCheckpoint.Head]?
        await store.leaderSession(lockKey: Self.leaderLockKey).leadUntilShutdown("checkpoint writer", every: interval, logger: logger) {
            let heads = try await store.auditHeads()
            guard heads != last else { return }
            try await write(heads)
            last = heads
        }
    }

    /// Signs and records a checkpoint of the heads as they stand now (also on demand).
    @discardableResult
    public func writeNow() async throws -> AuditCheckpoint.Signed {
        try await write(try await store.auditHeads())
    }

    @discardableResult
    private func write(_ heads: [AuditCheckpoint.Head]) async throws -> AuditCheckpoint.Signed {
        let checkpoint = AuditCheckpoint(origin: origin, time: AuditEntry.storable(Date()), keyID: HubSigningKey.keyID(of: key), heads: heads)
        let signed = AuditCheckpoint.Signed(checkpoint: checkpoint, signature: try checkpoint.signature(with: key))
        try await store.recordCheckpoint(signed, publishing: OutboxRecord(
            topic: topic, key: origin, headers: [RecordHeader(name: "content-type", value: "application/json")],
            value: signed.json.canonicalBytes))
        relayWakeup.signal()
        logger.debug("audit checkpoint written", metadata: ["audit.chains": "\(heads.count)"])
        return signed
    }
}
