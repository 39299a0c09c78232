public import CaseModel
public import Crypto
import HubStore
import Kafka

/// Signs every record the relay publishes to an agency's `to.` topic with
/// the hub's key (``DeliverySignature``); other topics' records go as they
/// are. Before publishing anything the relay records the key's public half
/// (``HubKeyStore``), so that an adapter reading the trusted keys from the
/// database knows it before the first record signed with it arrives.
public struct DeliverySigner: Sendable {
    let key: Curve25519.Signing.PrivateKey
    let topics: TopicNames
    /// Whether the key is kept in a file (the same across restarts and
    /// processes), or was made for this process's lifetime.
    let fromFile: Bool

    /// Signs with the key from the hub's key file, or with a key of its own
    /// (made now, for this process's lifetime) when there is none.
    public init(keyFromFile: Curve25519.Signing.PrivateKey?, topics: TopicNames) {
        key = keyFromFile ?? Curve25519.Signing.PrivateKey()
        fromFile = keyFromFile != nil
        self.topics = topics
    }

    public var keyID: String { EventSignature.keyID(of: key.publicKey) }

    /// The record, with the hub's signature when it goes to an agency.
    func signed(_ message: KafkaOutgoingMessage) -> KafkaOutgoingMessage {
        guard topics.recipient(ofTopic: message.topic) != nil else { return message }
        var signed = message
        signed.headers.removeAll { $0.key == DeliverySignature.header }
        let input = DeliverySignature.signingInput(topic: signed.topic, key: signed.key,
                                                   headers: signed.headers.map { ($0.key, $0.value) }, value: signed.value)
        // Signing with a valid in-memory key does not fail; if it ever did, the record
        // goes unsigned and every adapter refuses it, visibly, rather than the relay stopping.
        if let signature = try? DeliverySignature.sign(input, with: key) {
            signed.headers.append(KafkaHeader(key: DeliverySignature.header, string: signature))
        }
        return signed
    }

    /// Records the public half for the adapters.
    func record(in store: HubKeyStore) async throws {
        try await store.record(key.publicKey, fromFile: fromFile)
    }
}
