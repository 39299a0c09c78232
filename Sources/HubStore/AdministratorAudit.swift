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
        /// A change made in the database that named no actor (say with a
        /// process's credentials, not through CaseHub): the database user.
        case database
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
    /// on its own settings is that agency; `database:<user>` for a change no one named.
    var source: String {
        switch role {
        case .administrator: "admin:\(name)"
        case .agency: name
        case .database: "database:\(name)"
        }
    }

    /// The actor as a writing process names it to the database (the
    /// `casehub.actor` setting read by the trigger of migration 18), and back.
    var json: JSONValue {
        ["role": .string(role.rawValue), "name": .string(name), "tokenId": tokenID.map(JSONValue.string) ?? .null]
    }

    /// The `by…` members of the entry's body.
    var fields: [String: JSONValue] {
        ["by": .string(name), "byRole": .string(role.rawValue), "byTokenId": tokenID.map(JSONValue.string) ?? .null]
    }
}

extension AdministrativeActor {
    /// From ``json`` (an extension's initialiser: the memberwise one stays).
    init?(json: JSONValue) {
        guard let role = json["role"]?.stringValue.flatMap(Role.init(rawValue:)), let name = json["name"]?.stringValue else { return nil }
        self.init(role: role, name: name, tokenID: json["tokenId"]?.stringValue)
    }
}

extension HubTransaction {
    /// Appends one administrator action to the audit trail, on the chain of
    /// the agency it concerns (the chain of that agency's refusals with no
    /// case). `details` names the target; it must hold no secret.
    /// `recordedAt`, when later than `instant`: an action recorded after it
    /// happened (a webhook change the hub audits).
    public mutating func appendAdministratorAction(
        _ action: AuditEntry.AdministratorAction, concerning agency: AgencyID, by actor: AdministrativeActor, at instant: Date,
        recordedAt: Date? = nil, details: [String: JSONValue]
    ) {
        appendAdministratorAction(action, concerningAgency: agency.rawValue, by: actor, at: instant, recordedAt: recordedAt, details: details)
    }

    /// The same for an agency as the database holds it: a row written with a
    /// process's credentials, not through CaseHub, may name no valid agency.
    mutating func appendAdministratorAction(
        _ action: AuditEntry.AdministratorAction, concerningAgency agency: String, by actor: AdministrativeActor, at instant: Date,
        recordedAt: Date?, details: [String: JSONValue]
    ) {
        var body = details
        body["agency"] = .string(agency)
        body.merge(actor.fields) { detail, _ in detail }
        appendAudit(eventID: nil, caseID: nil, outcome: .admin, type: action.rawValue, source: actor.source,
                    occurredAt: instant, recordedAt: recordedAt ?? instant, caseVersion: nil, body: .object(body),
                    chainKey: AuditShards.key(caseID: nil, source: agency))
    }
}
