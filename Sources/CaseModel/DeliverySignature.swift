public import Crypto
public import Foundation

/// The hub's Ed25519 signature on every record it publishes to an agency's
/// `to.` topic. A delivery holds what its recipient's role receives
/// (``Disclosure``), which the sender's own signature no longer covers; its
/// authenticity is the hub's signature, which the agency's adapter checks
/// before it stores anything (`Sources/Adapters/DeliveryVerification.swift`).
///
/// The signature covers the record as Kafka carries it: the topic (so a
/// record copied to another agency's topic does not verify), the key, every
/// header but the signature itself, in order, and the value. It travels in
/// the header `casehub_hub_signature` as `<key id>:<base64 signature>`.
public enum DeliverySignature {
    public static let header = "casehub_hub_signature"
    static let domain = Array("casehub-delivery-v1".utf8)

    /// The bytes the hub signs and the adapter verifies: each part
    /// length-prefixed, so that no two records give the same bytes.
    /// Headers named ``header`` are left out.
    public static func signingInput(topic: String, key: [UInt8]?, headers: [(name: String, value: [UInt8])], value: [UInt8]) -> [UInt8] {
        var bytes = domain
        func append(_ part: some Collection<UInt8>) {
            withUnsafeBytes(of: UInt64(part.count).bigEndian) { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: part)
        }
        append(Array(topic.utf8))
        if let key {
            bytes.append(1)
            append(key)
        } else {
            bytes.append(0)
        }
        let signed = headers.filter { $0.name != header }
        withUnsafeBytes(of: UInt64(signed.count).bigEndian) { bytes.append(contentsOf: $0) }
        for item in signed {
            append(Array(item.name.utf8))
            append(item.value)
        }
        append(value)
        return bytes
    }

    /// The header value: `<key id>:<base64 signature>`.
    public static func sign(_ input: [UInt8], with key: Curve25519.Signing.PrivateKey) throws -> String {
        EventSignature.keyID(of: key.publicKey) + ":" + Data(try key.signature(for: input)).base64EncodedString()
    }

    /// Why a record on a `to.` topic is not the hub's.
    public enum Failure: Error, Equatable, Sendable, CustomStringConvertible {
        /// No signature header.
        case missing
        /// More than one, or not `<key id>:<base64 of 64 bytes>`.
        case malformed
        /// Signed with a key that is not a hub key this adapter trusts.
        case unknownKey(String)
        /// The signature does not match the record.
        case invalid(keyID: String)

        public var description: String {
            switch self {
            case .missing: "the record carries no hub signature (\(DeliverySignature.header))"
            case .malformed: "the hub signature header is malformed or repeated"
            case .unknownKey(let id): "signed with key \(id.prefix(32)), which is not a hub key this adapter trusts"
            case .invalid(let id): "the signature of hub key \(id) does not match the record: it was altered, or made for another topic"
            }
        }
    }

    /// The signature's key id, when the record carries one well-formed signature.
    public static func keyID(in headers: [(name: String, value: [UInt8])]) -> Result<(keyID: String, signature: Data), Failure> {
        let values = headers.filter { $0.name == header }
        guard let value = values.first else { return .failure(.missing) }
        guard values.count == 1, let text = String(validating: value.value, as: UTF8.self) else { return .failure(.malformed) }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, let signature = Data(base64Encoded: String(parts[1])), signature.count == 64 else { return .failure(.malformed) }
        return .success((String(parts[0]), signature))
    }

    /// Checks a consumed record against the hub keys trusted, by key id.
    public static func verify(topic: String, key: [UInt8]?, headers: [(name: String, value: [UInt8])], value: [UInt8],
                              trusted: [String: Curve25519.Signing.PublicKey]) -> Failure? {
        let signature: (keyID: String, signature: Data)
        switch keyID(in: headers) {
        case .failure(let failure): return failure
        case .success(let found): signature = found
        }
        guard let publicKey = trusted[signature.keyID] else { return .unknownKey(signature.keyID) }
        let input = signingInput(topic: topic, key: key, headers: headers, value: value)
        return publicKey.isValidSignature(signature.signature, for: input) ? nil : .invalid(keyID: signature.keyID)
    }
}
