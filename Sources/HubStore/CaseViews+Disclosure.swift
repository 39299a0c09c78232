import CaseModel

extension CaseViews {
    /// What `agency` may see of a case of `procedure`, by its roles on it
    /// (`roles`: the case state's `parties`, role to agency). A case of a
    /// procedure this build does not know is shown as little as any.
    static func rule(_ disclosure: Disclosure, procedure: String?, roles: JSONValue, of agency: AgencyID) -> Disclosure.CaseViewRule {
        guard let procedure = procedure.flatMap(Procedure.init(rawValue:)) else { return .minimal }
        let held = (roles.objectValue ?? [:]).compactMap { role, holder in
            holder.stringValue == agency.rawValue ? PartyRole(rawValue: role) : nil
        }
        return disclosure.caseView(in: procedure, for: held)
    }

    /// The view without what the rule withholds: fields it does not show,
    /// numbers of agencies in roles it does not name (deadlines of other
    /// rules the caller leaves out). `withheld` names the fields left out, so
    /// that the agency knows the view is partial.
    static func limited(_ view: [String: JSONValue], by rule: Disclosure.CaseViewRule, roles: JSONValue) -> JSONValue {
        var view = view
        var withheld: [JSONValue] = []
        if let fields = rule.fields {
            for field in Disclosure.CaseViewRule.viewFields where !fields.contains(field) {
                view.removeValue(forKey: field)
                withheld.append(.string(field))
            }
        }
        if let numbersOf = rule.numbersOf, case .object(let numbers)? = view["numbers"] {
            let shown = Set((roles.objectValue ?? [:]).compactMap { role, agency in
                PartyRole(rawValue: role).flatMap { numbersOf.contains($0) ? agency.stringValue : nil }
            })
            view["numbers"] = .object(numbers.filter { shown.contains($0.key) })
        }
        if !withheld.isEmpty { view["withheld"] = .array(withheld) }
        return .object(view)
    }
}
