import Backoff
public import CaseHubMetrics
import CaseModel
import CloudEventsKafka
public import Crypto
import Foundation
public import HubStore
import Kafka
public import Logging

/// The hub keys an adapter accepts deliveries signed with: the ones it was
/// given (`casehub adapter --hub-public-key`, pinned), or else the ones hub
/// processes recorded in the database (``HubKeyStore``), read again when a
/// record names a key not yet known. Reads are at least ``rereadInterval``
/// apart; a record that names an unknown key waits for the next read rather
/// than being refused on a stale list (a hub records its key before it
/// signs with it), so a flood of forged records slows its own topic down
/// and cannot make a genuine record be refused.
public actor HubKeyTrust {
    public enum Source: Sendable {
        case pinned([Curve25519.Signing.PublicKey])
        case database(HubKeyStore)
    }

    let source: Source
    private var keys: [String: Curve25519.Signing.PublicKey]?
    private var readAt: ContinuousClock.Instant?
    static let rereadInterval = Duration.milliseconds(200)

    public init(_ source: Source) {
        self.source = source
        if case .pinned(let pinned) = source {
            keys = Dictionary(pinned.map { (EventSignature.keyID(of: $0), $0) }) { first, _ in first }
        }
    }

    public struct KeyError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Trusts exactly these keys (base64 of the raw 32-byte public key, as `casehub audit hub-key` prints it).
    public static func pinning(_ base64Keys: [String]) throws(KeyError) -> HubKeyTrust {
        var keys: [Curve25519.Signing.PublicKey] = []
        for text in base64Keys {
            guard let raw = Data(base64Encoded: text), let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw KeyError(description: "'\(text.prefix(60))' is not a hub public key (base64 of 32 bytes, from `casehub audit hub-key`)")
            }
            keys.append(key)
        }
        return HubKeyTrust(.pinned(keys))
    }

    /// The keys trusted; `unknownKeyID` read the database again when it does
    /// not know that key yet. Throws when the database cannot be read.
    func keys(knowing unknownKeyID: String? = nil) async throws -> [String: Curve25519.Signing.PublicKey] {
        guard case .database(let store) = source else { return keys ?? [:] }
        let unknown = unknownKeyID.map { keys?[$0] == nil } ?? false
        if keys != nil && !unknown { return keys ?? [:] }
        if let readAt, ContinuousClock.now - readAt < Self.rereadInterval {
            try await Task.sleep(until: readAt + Self.rereadInterval)
            // Read meanwhile by another caller?
            if let id = unknownKeyID, let known = keys, known[id] != nil { return known }
        }
        let read = try await store.keys()
        keys = read
        readAt = .now
        return read
    }

    /// Whether the trusted keys come from the database (and a key not yet known may become known).
    nonisolated var readsDatabase: Bool {
        if case .database = source { true } else { false }
    }
}

/// Checks each record on an agency's `to.` topic before its adapter stores
/// it: only records the hub signed (``DeliverySignature``) reach the inbox,
/// the webhooks and the file drop. Anything else is refused and reported:
/// an error in the log, `casehub_deliveries_refused_total`, and a refusal
/// for administrators (stage `adapter`, ``RefusedDelivery``).
public struct DeliveryVerification: Sendable {
    let trust: HubKeyTrust
    let refusals: (any AdapterRefusalRecording)?
    let metrics: CaseHubMetrics?
    let logger: Logger

    public init(trust: HubKeyTrust, refusals: (any AdapterRefusalRecording)?, metrics: CaseHubMetrics?, logger: Logger) {
        self.trust = trust
        self.refusals = refusals
        self.metrics = metrics
        self.logger = logger
    }

    /// True when the hub signed the record; false when it was refused (and
    /// reported); nil when shutting down before the keys could be read.
    func admits(_ message: KafkaMessage, for agency: AgencyID) async -> Bool? {
        let headers = message.headers.map { (name: $0.key, value: $0.value) }
        func verify(_ keys: [String: Curve25519.Signing.PublicKey]) -> DeliverySignature.Failure? {
            DeliverySignature.verify(topic: message.topic, key: message.key, headers: headers, value: message.value, trusted: keys)
        }
        guard let keys = await retryWithBackoff("reading the hub's delivery keys", logger: logger, { try await trust.keys() }) else { return nil }
        var failure = verify(keys)
        // A hub key recorded since the keys were read: read them again (a newly started hub process).
        if case .unknownKey(let id)? = failure, trust.readsDatabase {
            guard let again = await retryWithBackoff("reading the hub's delivery keys", logger: logger, { try await trust.keys(knowing: id) }) else { return nil }
            failure = verify(again)
        }
        guard let failure else { return true }
        refuse(message, for: agency, failure)
        return false
    }

    private func refuse(_ message: KafkaMessage, for agency: AgencyID, _ failure: DeliverySignature.Failure) {
        let code: RefusalCode = failure == .missing ? .adapterDeliveryUnsigned : .adapterDeliveryForged
        let claimed = message.header("ce_source")?.stringValue.flatMap(AgencyID.init(rawValue:))
        logger.error("a record on the agency's delivery topic is not the hub's; refused, not stored", metadata: [
            "casehub.agency": "\(agency)", "casehub.refusal": "\(code)", "kafka.topic": "\(message.topic)",
            "kafka.partition": "\(message.partition)", "kafka.offset": "\(message.offset)", "reason": "\(failure)",
        ])
        metrics?.deliveryRefused()
        let headerText = message.headers.map { RecordHeader(name: $0.key, value: $0.stringValue ?? "<binary>") }
        refusals?.record(AdapterRejection(
            agency: agency, claimedAgency: claimed, tokenHash: nil,
            request: "consume \(message.topic) partition \(message.partition) offset \(message.offset)", httpStatus: nil,
            code: code, reason: "\(failure)", body: RefusedBody(read: message.value),
            delivery: RefusedDelivery(topic: message.topic, headers: headerText, eventID: message.header("ce_id")?.stringValue,
                                      caseID: message.header("ce_subject")?.stringValue ?? message.keyString,
                                      type: message.header("ce_type")?.stringValue)))
    }
}
