/// Case ids are namespaced by the agency that opens the case:
/// `<agency id>:<the agency's own id>`, e.g. `zz-epb:2025-0041`. An agency
/// opens cases only under its own prefix, so no agency can take (squat) an id
/// that another agency's system will use, and an agency's system can derive
/// its case ids from its own numbering without asking the hub. Agency ids
/// contain no colon, so the prefix is unambiguous.
public enum CaseIDNamespace {
    public static let separator: Character = ":"

    /// The agency whose namespace `caseID` is in; nil for an id with no
    /// namespace (only cases opened before namespaces have such ids).
    public static func owner(of caseID: String) -> AgencyID? {
        guard let colon = caseID.firstIndex(of: separator), colon != caseID.startIndex else { return nil }
        return AgencyID(rawValue: String(caseID[..<colon]))
    }

    /// `<agency>:<local>`: the id an agency gives a case it opens.
    public static func caseID(_ local: String, openedBy agency: AgencyID) -> String {
        "\(agency.rawValue)\(separator)\(local)"
    }

    /// Refuses opening a case whose id is outside the sender's namespace.
    static func requireOwned(_ subject: String, by sender: Agency) throws(Refusal) {
        guard owner(of: subject) != sender.id else { return }
        throw Refusal(
            code: .caseIDNamespace,
            reason: "a case opened by \(sender.id) has an id beginning with '\(sender.id)\(separator)', e.g. '\(caseID(exampleLocal, openedBy: sender.id))'",
            reasonZH: "\(sender.name)立案的案件标识应以“\(sender.id)\(separator)”开头，例如“\(caseID(exampleLocal, openedBy: sender.id))”",
            violations: [Violation(path: "/subject", rule: "namespace", message: "must begin with '\(sender.id)\(separator)'")])
    }

    static let exampleLocal = "2026-0001"
}
