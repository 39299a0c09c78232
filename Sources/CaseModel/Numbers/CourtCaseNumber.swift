/// A court case number under the SPC case-number rules (2018 rev.):
/// `（2023）湘02行终23号` — year in full-width round brackets, court code
/// (province abbreviation + 2 digits for an intermediate court, 4 for a basic
/// court), an optional one-character special-trial mark, the case-type code,
/// the sequence (unique per court × type × year), and 号.
public struct CourtCaseNumber: Sendable, Hashable, CustomStringConvertible {
    /// The case-type codes CaseHub's procedures use.
    public static let typeCodes: Set<String> = [
        "刑初", "刑终", "民初", "民终", "民特", "行初", "行终", "行审",
        "执", "执恢", "执保", "执异", "执复", "执监", "财保",
    ]

    public var year: Int
    /// e.g. 湘02, 湘0211.
    public var courtCode: String
    public var specialMark: String?
    public var typeCode: String
    public var sequence: Int

    public init(year: Int, courtCode: String, specialMark: String? = nil, typeCode: String, sequence: Int) {
        self.year = year
        self.courtCode = courtCode
        self.specialMark = specialMark
        self.typeCode = typeCode
        self.sequence = sequence
    }

    /// Parses a number, normalising half-width brackets and stray spaces.
    /// With a registry, the court code must be a registered court's.
    public init(parsing raw: String, registry: AgencyRegistry? = nil) throws(DocumentNumberError) {
        let text = NumberText.fullWidthRoundBrackets(NumberText.removingSpaces(raw))
        guard text.hasPrefix("（"), let close = text.firstIndex(of: "）") else {
            throw DocumentNumberError(input: raw, problem: "a court case number starts with the year in brackets, e.g. （2023）")
        }
        year = try NumberText.year(text[text.index(after: text.startIndex)..<close], in: raw)
        guard text.hasSuffix("号") else {
            throw DocumentNumberError(input: raw, problem: "a court case number ends with 号")
        }
        var rest = text[text.index(after: close)..<text.index(before: text.endIndex)]
        // Court code: one Chinese province abbreviation, then 2 or 4 digits.
        guard let province = rest.first, !province.isASCII else {
            throw DocumentNumberError(input: raw, problem: "the court code must start with a province abbreviation such as 湘")
        }
        rest = rest.dropFirst()
        let codeDigits = rest.prefix { $0.isASCII && $0.isNumber }
        guard codeDigits.count == 2 || codeDigits.count == 4 else {
            throw DocumentNumberError(input: raw, problem: "the court code has \(codeDigits.count) digits after \(province); intermediate courts have 2, basic courts 4")
        }
        courtCode = String(province) + codeDigits
        rest = rest.dropFirst(codeDigits.count)
        // Then the (mark +) type code, then the sequence.
        let letters = rest.prefix { !($0.isASCII && $0.isNumber) }
        let digits = rest.dropFirst(letters.count)
        guard !letters.isEmpty else {
            throw DocumentNumberError(input: raw, problem: "the case-type code (e.g. 行终) is missing")
        }
        if Self.typeCodes.contains(String(letters)) {
            specialMark = nil
            typeCode = String(letters)
        } else if letters.count >= 2, Self.typeCodes.contains(String(letters.dropFirst())) {
            specialMark = String(letters.first!)
            typeCode = String(letters.dropFirst())
        } else {
            throw DocumentNumberError(input: raw, problem: "unknown case type code '\(letters)' (known: \(Self.typeCodes.sorted().joined(separator: " ")))")
        }
        sequence = try NumberText.sequence(digits, in: raw, what: "the sequence")
        if let registry {
            guard registry.all.contains(where: { $0.kind == .court && $0.courtCode == courtCode }) else {
                throw DocumentNumberError(input: raw, problem: "court code \(courtCode) is not a registered court's")
            }
        }
    }

    /// True when this number was issued by that court.
    public func isIssued(by court: Agency) -> Bool { court.courtCode == courtCode }

    public var description: String {
        "（\(year)）\(courtCode)\(specialMark ?? "")\(typeCode)\(sequence)号"
    }
}
