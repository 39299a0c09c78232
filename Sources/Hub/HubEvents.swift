import CaseModel
import Foundation

/// Events the hub itself emits.
public enum HubEvents {
    public static let receiptType = "casehub.hub.receipt.v1"

    /// Tells a sender what became of its event: accepted, or refused with a
    /// machine-readable code and a reason.
    public static func receipt(
        for eventID: String, caseID: String, sender: String, refusal: Refusal? = nil, caseVersion: Int? = nil,
        hubSource: String, at time: Date
    ) -> CloudEvent {
        var data: [String: JSONValue] = [
            "eventId": .string(String(eventID.prefix(64))),
            "recipient": .string(sender),
            "outcome": .string(refusal == nil ? "accepted" : "refused"),
        ]
        if let refusal {
            data["code"] = .string(String(refusal.code.prefix(100)))
            data["reason"] = .string(String(refusal.reason.prefix(4000)))
            data["reasonZH"] = .string(String(refusal.reasonZH.prefix(4000)))
            if !refusal.violations.isEmpty { data["violations"] = Refusal(code: "", reason: "", violations: Array(refusal.violations.prefix(200))).violationsJSON }
        }
        if let caseVersion { data["caseVersion"] = .integer(Int64(caseVersion)) }
        return CloudEvent(id: UUID().uuidString.lowercased(), source: hubSource, type: receiptType, time: time,
                          subject: caseID, data: .object(data))
    }
}
