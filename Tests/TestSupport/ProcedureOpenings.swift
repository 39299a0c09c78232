public import CaseModel
public import Testing

/// Each procedure's first event, with a payload its schema accepts and the
/// kind of agency that may send it: the tests that open a case both ways.
public struct ProcedureOpening: Sendable, CustomTestStringConvertible {
    public let procedure: String
    public let sender: AgencyID
    public let first: String
    public let data: JSONValue
    public var testDescription: String { procedure }

    public static let all: [ProcedureOpening] = [
        ProcedureOpening(procedure: "referral", sender: "zz-epb", first: "referral.submitted",
                         data: ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "x"]),
        ProcedureOpening(procedure: "crime-transfer", sender: "zz-epb", first: "crime.case-reported", data: ["summary": "x"]),
        ProcedureOpening(procedure: "administrative-pil", sender: "zz-procuratorate", first: "pil.clue-registered",
                         data: ["clueSource": "referral", "summary": "x"]),
        ProcedureOpening(procedure: "civil-pil", sender: "zz-procuratorate", first: "civil-pil.clue-registered",
                         data: ["clueSource": "criminal-case", "summary": "x"]),
        ProcedureOpening(procedure: "accountability", sender: "zz-epb", first: "accountability.clue-referred",
                         data: ["commission": "zz-cdi", "summary": "x", "officials": [["position": "局长"]]]),
        ProcedureOpening(procedure: "damage-compensation", sender: "zz-epb", first: "compensation.assessment-completed",
                         data: ["reportNumber": "湘环评估〔2025〕11号", "damageAmount": 100]),
    ]
}
