import CaseModel
import Foundation

/// Events the hub itself emits.
public enum HubEvents {
    public static let receiptType = "casehub.hub.receipt.v1"

    /// Tells a sender what became of its event: accepted, or refused with a
    /// machine-readable code and a reason.
    public static func receipt(
        for eventID: String, caseID: String, sender: String, accepted: Bool,
        code: String? = nil, reason: String? = nil, caseVersion: Int64? = nil,
        hubSource: String, at time: Date
    ) -> CloudEvent {
        var data: [String: JSONValue] = [
            "eventId": .string(eventID),
            "recipient": .string(sender),
            "outcome": .string(accepted ? "accepted" : "refused"),
        ]
        if let code { data["code"] = .string(code) }
        if let reason { data["reason"] = .string(reason) }
        if let caseVersion { data["caseVersion"] = .integer(caseVersion) }
        return CloudEvent(id: UUID().uuidString.lowercased(), source: hubSource, type: receiptType, time: time,
                          subject: caseID, data: .object(data))
    }
}
