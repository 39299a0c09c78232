import CaseModel
import Crypto
import Foundation
import TestSupport
import Testing

struct EventSignatureTests {
    let key = Curve25519.Signing.PrivateKey()
    let event = CloudEvent(id: "0b7e4c1a-3f7e-4c44-9a55-1f0c2f1e9d10", source: "zz-epb", type: "casehub.referral.submitted.v1",
                           time: Date(timeIntervalSince1970: 1_740_000_000.123), subject: "c1",
                           data: ["receiver": "zz-psb", "referralKind": "clue", "summary": "湘江"])

    var registered: EventSignature.RegisteredKey {
        .init(keyID: EventSignature.keyID(of: key.publicKey), publicKey: Array(key.publicKey.rawRepresentation), retiredAt: nil)
    }

    @Test func aSignedEventVerifiesInBothForms() throws {
        let signed = try EventSignature.sign(event, with: key)
        #expect(EventSignature.verify(signed, keys: [registered], receivedAt: Date()) == nil)
        // Over Kafka: headers and value back to an event, same verdict.
        let binary = try CloudEvent(binaryHeaders: signed.binaryHeaders, value: signed.binaryValue)
        #expect(EventSignature.verify(binary, keys: [registered], receivedAt: Date()) == nil)
        // Over HTTP: the structured JSON, same verdict.
        let structured = try CloudEvent(structured: try JSONValue.parse(signed.structured.canonicalBytes))
        #expect(EventSignature.verify(structured, keys: [registered], receivedAt: Date()) == nil)
    }

    @Test func anyChangeBreaksTheSignature() throws {
        var signed = try EventSignature.sign(event, with: key)
        signed.data = ["receiver": "zz-court", "referralKind": "clue", "summary": "湘江"]
        #expect(EventSignature.verify(signed, keys: [registered], receivedAt: Date()) == .invalid)
        var other = try EventSignature.sign(event, with: key)
        other.subject = "c2"
        #expect(EventSignature.verify(other, keys: [registered], receivedAt: Date()) == .invalid)
    }

    @Test func missingUnknownAndRetiredKeys() throws {
        #expect(EventSignature.verify(event, keys: [registered], receivedAt: Date()) == .missing)
        let stranger = try EventSignature.sign(event, with: Curve25519.Signing.PrivateKey())
        guard case .unknownKey? = EventSignature.verify(stranger, keys: [registered], receivedAt: Date()) else {
            Issue.record("a stranger's key was accepted")
            return
        }
        var malformed = event
        malformed.extensions["signature"] = "nonsense"
        #expect(EventSignature.verify(malformed, keys: [registered], receivedAt: Date()) == .malformed)
        // A rotated key still verifies what the hub received before its retirement, not after,
        // whatever time the event declares.
        let signed = try EventSignature.sign(event, with: key)
        var retired = registered
        retired.retiredAt = event.time.addingTimeInterval(60)
        #expect(EventSignature.verify(signed, keys: [retired], receivedAt: event.time) == nil)
        #expect(EventSignature.verify(signed, keys: [retired], receivedAt: event.time.addingTimeInterval(120)) == .keyRetired(registered.keyID))
        retired.retiredAt = event.time.addingTimeInterval(-60)
        #expect(EventSignature.verify(signed, keys: [retired], receivedAt: event.time) == .keyRetired(registered.keyID))
    }
}

/// A payload passed on as the record carried it gives the same structured
/// JSON as serialising the event again.
@Test func splicingTheRecordValueGivesTheStructuredForm() throws {
    let event = CloudEvent(source: "zz-epb", type: "casehub.referral.submitted.v1", time: Date(timeIntervalSince1970: 1_764_000_000),
                           subject: "splice", data: ["receiver": "zz-procuratorate", "summary": "线索 \"引号\"", "list": [1, 2.5, true]],
                           extensions: ["signature": "k:abc"])
    #expect(event.structuredBytes(dataBytes: event.binaryValue) == event.structured.canonicalBytes)
}
