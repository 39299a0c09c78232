public import Crypto
public import Foundation

/// Ed25519 signatures of events by the sending agency's adapter.
///
/// The signed bytes are the canonical JSON (sorted keys, no whitespace) of
/// the event's core attributes and payload — everything but the signature
/// itself — so the binary (Kafka) and structured (HTTP) forms of one event
/// sign alike. The signature travels as the `signature` extension attribute
/// (`ce_signature` over Kafka): `<key id>:<base64 signature>`.
public enum EventSignature {
    public static let attribute = "signature"

    /// The bytes an adapter signs and the hub verifies.
    public static func signingInput(of event: CloudEvent) -> [UInt8] {
        JSONValue.object([
            "specversion": .string(CloudEvent.specVersion),
            "id": .string(event.id.description),
            "source": .string(event.source.rawValue),
            "type": .string(event.type.rawValue),
            "time": .string(RFC3339.format(event.time)),
            "subject": .string(event.subject),
            "datacontenttype": "application/json",
            "data": event.data,
        ]).canonicalBytes
    }

    /// A key's id: the first 16 hex digits of SHA-256 over the public key.
    public static func keyID(of publicKey: Curve25519.Signing.PublicKey) -> String {
        SHA256.hash(data: publicKey.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
    }

    /// Returns the event with its `signature` attribute set.
    public static func sign(_ event: CloudEvent, with key: Curve25519.Signing.PrivateKey) throws -> CloudEvent {
        var signed = event
        signed.extensions.removeValue(forKey: attribute)
        let signature = try key.signature(for: signingInput(of: signed))
        signed.extensions[attribute] = keyID(of: key.publicKey) + ":" + Data(signature).base64EncodedString()
        return signed
    }

    /// Why a signature does not hold.
    public enum Failure: Error, Equatable, Sendable {
        case missing
        case malformed
        case unknownKey(String)
        case keyRetired(String)
        case invalid

        public var refusal: Refusal {
            switch self {
            case .missing:
                Refusal(code: .signatureMissing, reason: "the event carries no adapter signature", reasonZH: "事件缺少签名")
            case .malformed:
                Refusal(code: .signatureMalformed, reason: "the signature attribute is not <key id>:<base64>", reasonZH: "签名格式不正确")
            case .unknownKey(let id):
                Refusal(code: .signatureUnknownKey, reason: "key \(id.prefix(32)) is not registered for the sending agency", reasonZH: "签名密钥未登记")
            case .keyRetired(let id):
                Refusal(code: .signatureKeyRetired, reason: "key \(id.prefix(32)) was retired before the hub received the event", reasonZH: "签名密钥在枢纽收到该事件之前已停用")
            case .invalid:
                Refusal(code: .signatureInvalid, reason: "the signature does not match the event", reasonZH: "签名验证失败")
            }
        }
    }

    /// A registered public key of an agency.
    public struct RegisteredKey: Sendable, Hashable {
        public var keyID: String
        public var publicKey: [UInt8]
        /// Events the hub received before this instant may still use the key.
        public var retiredAt: Date?

        public init(keyID: String, publicKey: [UInt8], retiredAt: Date?) {
            self.keyID = keyID
            self.publicKey = publicKey
            self.retiredAt = retiredAt
        }
    }

    /// Checks the event's signature against the sender's registered keys. A
    /// retired key verifies only what the hub received (`receivedAt`, the
    /// hub's own clock) before its retirement: the event's declared time is
    /// the sender's claim, and a stolen retired key could backdate it at will.
    public static func verify(_ event: CloudEvent, keys: [RegisteredKey], receivedAt: Date) -> Failure? {
        guard let value = event.extensions[attribute] else { return .missing }
        let parts = value.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let signature = Data(base64Encoded: String(parts[1])), signature.count == 64 else { return .malformed }
        let id = String(parts[0])
        guard let key = keys.first(where: { $0.keyID == id }) else { return .unknownKey(id) }
        if let retired = key.retiredAt, receivedAt >= retired { return .keyRetired(id) }
        guard let publicKey = try? Curve25519.Signing.PublicKey(rawRepresentation: key.publicKey),
              publicKey.isValidSignature(signature, for: signingInput(of: event)) else { return .invalid }
        return nil
    }
}
