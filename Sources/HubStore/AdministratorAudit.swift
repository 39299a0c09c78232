public import CaseModel
public import Foundation

/// Who did an administrator action, as its audit entry names them. A token
/// appears only by its id (the first 8 bytes of its SHA-256 in hex, as
/// refusals name it), never by its value.
public struct AdministrativeActor: Sendable, Hashable {
    public enum Role: String, Sendable {
        /// An administrator: a `casehub` command, an administrator's token, or
        /// the local stack approving its own keys (``localStack``).
        case administrator
        /// An agency changing its own settings (its webhook) with its own token.
        case agency
    }

    public var role: Role
    /// The administrator (`cli:<user>`, a token's label) or the agency's id.
    public var name: String
    public var tokenID: String?

    public static func administrator(_ name: String, tokenID: String? = nil) -> AdministrativeActor {
        AdministrativeActor(role: .administrator, name: name, tokenID: tokenID)
    }

    public static func agency(_ agency: AgencyID, tokenID: String? = nil) -> AdministrativeActor {
        AdministrativeActor(role: .agency, name: agency.rawValue, tokenID: tokenID)
    }

    /// `casehub run` and the tests' stacks approving the keys they generated
    /// themselves: an explicit administrator step of local mode, audited under this name.
    public static let localStack = AdministrativeActor.administrator("local-stack")

    /// The entry's `source`: `admin:<name>` as for replays; an agency acting
    /// on its own settings is that agency.
    var source: String { role == .agency ? name : "admin:\(name)" }

    /// The `by…` members of the entry's body.
    var fields: [String: JSONValue] {
        ["by": .string(name), "byRole": .string(role.rawValue), "byTokenId": tokenID.map(JSONValue.string) ?? .null]
    }
}

extension HubTransaction {
    /// Appends one administrator action to the audit trail, on the chain of
    /// the agency it concerns (the chain of that agency's refusals with no
    /// case). `details` names the target; it must hold no secret.
    mutating func appendAdministratorAction(
        _ action: AuditEntry.AdministratorAction, concerning agency: AgencyID, by actor: AdministrativeActor, at instant: Date,
        details: [String: JSONValue]
    ) {
        var body = details
        body["agency"] = .string(agency.rawValue)
        body.merge(actor.fields) { detail, _ in detail }
        appendAudit(eventID: nil, caseID: nil, outcome: .admin, type: action.rawValue, source: actor.source,
                    occurredAt: instant, recordedAt: instant, caseVersion: nil, body: .object(body),
                    chainKey: AuditShards.key(caseID: nil, source: agency.rawValue))
    }
}
