public import CaseModel
public import Foundation

/// Events the hub itself emits.
public enum HubEvents {
    public static let receiptType = EventType.hubReceipt

    /// Tells a sender what became of its event: accepted, or refused with a
    /// machine-readable code and a reason. `eventID` is text: a refused
    /// envelope's id need not be a UUID.
    public static func receipt(
        for eventID: String, caseID: String, sender: AgencyID, refusal: Refusal? = nil, caseVersion: Int? = nil,
        hubSource: AgencyID, at time: Date
    ) -> CloudEvent {
        var data: [String: JSONValue] = [
            "eventId": .string(String(eventID.prefix(64))),
            "recipient": .string(sender.rawValue),
            "outcome": .string(refusal == nil ? "accepted" : "refused"),
        ]
        if let refusal {
            data["code"] = .string(String(refusal.code.rawValue.prefix(100)))
            data["reason"] = .string(String(refusal.reason.prefix(4000)))
            data["reasonZH"] = .string(String(refusal.reasonZH.prefix(4000)))
            if !refusal.violations.isEmpty {
                var listed = refusal
                listed.violations = Array(refusal.violations.prefix(200))
                data["violations"] = listed.violationsJSON
            }
        }
        if let caseVersion { data["caseVersion"] = .integer(Int64(caseVersion)) }
        return CloudEvent(source: hubSource, type: receiptType, time: time, subject: caseID, data: .object(data))
    }
}
