import CaseModel
import Crypto
import Foundation
import Testing

/// The hub's signature on a record of an agency's delivery topic covers the
/// topic, key, headers and value: a change to any of them, or another key,
/// fails it.
struct DeliverySignatureTests {
    let hub = Curve25519.Signing.PrivateKey()
    let topic = "casehub.to.zz-procuratorate"
    let key = Array("zz-epb:case-1".utf8)
    let value = Array(#"{"summary":"线索"}"#.utf8)
    var headers: [(name: String, value: [UInt8])] {
        [("ce_id", Array("0b7e4c1a-3f7e-4c44-9a55-1f0c2f1e9d10".utf8)), ("ce_source", Array("zz-epb".utf8))]
    }

    func signed(_ headers: [(name: String, value: [UInt8])], with key: Curve25519.Signing.PrivateKey? = nil) throws -> [(name: String, value: [UInt8])] {
        let input = DeliverySignature.signingInput(topic: topic, key: self.key, headers: headers, value: value)
        return headers + [(DeliverySignature.header, Array(try DeliverySignature.sign(input, with: key ?? hub).utf8))]
    }

    var trusted: [String: Curve25519.Signing.PublicKey] { [EventSignature.keyID(of: hub.publicKey): hub.publicKey] }

    func verify(topic: String? = nil, key: [UInt8]?? = nil, _ headers: [(name: String, value: [UInt8])], value: [UInt8]? = nil) -> DeliverySignature.Failure? {
        DeliverySignature.verify(topic: topic ?? self.topic, key: key ?? self.key, headers: headers, value: value ?? self.value, trusted: trusted)
    }

    @Test func theHubsSignatureVerifies() throws {
        #expect(verify(try signed(headers)) == nil)
    }

    @Test func anythingChangedOrAddedFailsIt() throws {
        let good = try signed(headers)
        let id = EventSignature.keyID(of: hub.publicKey)
        #expect(verify(topic: "casehub.to.zz-court", good) == .invalid(keyID: id), "copied to another agency's topic")
        #expect(verify(key: Array("other".utf8), good) == .invalid(keyID: id))
        #expect(verify(key: .some(nil), good) == .invalid(keyID: id))
        #expect(verify(good, value: Array(#"{"summary":"改"}"#.utf8)) == .invalid(keyID: id))
        #expect(verify(good + [("ce_disclosure", Array("partial".utf8))]) == .invalid(keyID: id), "a header added")
        var altered = good
        altered[1].value = Array("zz-court".utf8)
        #expect(verify(altered) == .invalid(keyID: id), "a header changed")
        #expect(verify(Array(good.reversed())) == .invalid(keyID: id), "headers reordered")
    }

    @Test func unsignedOtherKeysAndMalformedSignaturesAreRefused() throws {
        #expect(verify(headers) == .missing)
        let other = Curve25519.Signing.PrivateKey()
        #expect(verify(try signed(headers, with: other)) == .unknownKey(EventSignature.keyID(of: other.publicKey)))
        #expect(verify(headers + [(DeliverySignature.header, Array("abc".utf8))]) == .malformed)
        let good = try signed(headers)
        #expect(verify(good + [good.last!]) == .malformed, "two signatures")
        // A signature another key made, under the hub key's id.
        let forged = String(decoding: try signed(headers, with: other).last!.value, as: UTF8.self).split(separator: ":")[1]
        #expect(verify(headers + [(DeliverySignature.header, Array("\(EventSignature.keyID(of: hub.publicKey)):\(forged)".utf8))])
                == .invalid(keyID: EventSignature.keyID(of: hub.publicKey)))
    }

    @Test func partsCannotBeShiftedFromOneToTheNext() {
        // Length prefixes: a header's name and value split differently give other bytes.
        let a = DeliverySignature.signingInput(topic: topic, key: nil, headers: [("ab", Array("c".utf8))], value: [])
        let b = DeliverySignature.signingInput(topic: topic, key: nil, headers: [("a", Array("bc".utf8))], value: [])
        let c = DeliverySignature.signingInput(topic: topic, key: [], headers: [], value: [])
        let d = DeliverySignature.signingInput(topic: topic, key: nil, headers: [], value: [])
        #expect(a != b && c != d)
    }
}
