import CaseModel
import CloudEventsKafka
import Crypto
import Foundation
import Kafka

/// The events every measurement uses: referral cases opened by the
/// environmental bureau, then linked to other cases step after step — legal
/// for the state machine, each one a delivery to the procuratorate.
struct Workload {
    static let sender: AgencyID = "zz-epb"
    static let receiver: AgencyID = "zz-procuratorate"

    let key = Curve25519.Signing.PrivateKey()
    let runID = String(UUID().uuidString.prefix(8)).lowercased()

    /// `count` events over `count / eventsPerCase` cases, interleaved across
    /// cases (as many agencies' clerks would send them), in order per case.
    func events(count: Int, eventsPerCase: Int, label: String) throws -> [CloudEvent] {
        let cases = max(1, count / eventsPerCase)
        let start = Date(timeIntervalSince1970: 1_780_000_000)
        var events: [CloudEvent] = []
        events.reserveCapacity(count)
        var step = 0
        while events.count < count {
            for index in 0..<cases where events.count < count {
                let caseID = CaseIDNamespace.caseID("bench-\(runID)-\(label)-\(index)", openedBy: Self.sender)
                let data: JSONValue = step == 0
                    ? ["receiver": .string(Self.receiver.rawValue), "referralKind": "clue", "summary": .string("河道排污线索 \(index)")]
                    : ["linkedCaseId": .string("\(caseID)-link-\(step)"), "relation": "same-act"]
                let event = CloudEvent(
                    source: Self.sender,
                    type: step == 0 ? EventType.referralSubmitted : EventType.caseLinked,
                    time: start.addingTimeInterval(Double(step)), subject: caseID, data: data)
                events.append(try EventSignature.sign(event, with: key))
            }
            step += 1
        }
        return events
    }

    /// The record an agency adapter would produce for the event.
    static func message(_ event: CloudEvent, topic: String) -> KafkaOutgoingMessage {
        KafkaOutgoingMessage(topic: topic, event: event)
    }
}
