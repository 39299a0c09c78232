import Foundation

/// A government document number (GB/T 9704): issuer mark, year in hexagonal
/// brackets, number without leading zeros, 号 — e.g. `株环函〔2025〕31号`.
public struct GovernmentDocumentNumber: Sendable, Hashable, CustomStringConvertible {
    public var issuerMark: String
    public var year: Int
    public var sequence: Int

    public init(issuerMark: String, year: Int, sequence: Int) {
        self.issuerMark = issuerMark
        self.year = year
        self.sequence = sequence
    }

    public init(parsing raw: String) throws(DocumentNumberError) {
        let text = NumberText.hexagonalBrackets(NumberText.removingSpaces(raw))
        let (issuer, year, tail) = try Self.split(text, raw: raw)
        issuerMark = issuer
        self.year = year
        sequence = try NumberText.sequence(tail, in: raw, what: "the document number")
    }

    /// issuer 〔year〕 tail号 → (issuer, year, tail).
    static func split(_ text: String, raw: String) throws(DocumentNumberError) -> (String, Int, Substring) {
        guard let open = text.firstIndex(of: "〔"), let close = text.firstIndex(of: "〕"), open < close else {
            throw DocumentNumberError(input: raw, problem: "the year must stand in brackets 〔〕 after the issuer mark")
        }
        let issuer = String(text[..<open])
        guard !issuer.isEmpty else {
            throw DocumentNumberError(input: raw, problem: "the issuer mark (e.g. 株环函) is missing")
        }
        let year = try NumberText.year(text[text.index(after: open)..<close], in: raw)
        guard text.hasSuffix("号") else {
            throw DocumentNumberError(input: raw, problem: "a document number ends with 号")
        }
        return (issuer, year, text[text.index(after: close)..<text.index(before: text.endIndex)])
    }

    public var description: String { "\(issuerMark)〔\(year)〕\(sequence)号" }
}

/// A Zhuzhou environment bureau penalty decision number, as published:
/// `株环罚字〔2025〕醴-24号` — the series, the year, the issuing unit's prefix
/// (S, Z, 醴, …), a hyphen and the unit's sequence (shared with hearing notices).
public struct PenaltyDecisionNumber: Sendable, Hashable, CustomStringConvertible {
    public static let series = "株环罚字"

    public var year: Int
    /// The issuing unit, e.g. `醴` for the Liling branch.
    public var unitPrefix: String
    public var sequence: Int

    public init(year: Int, unitPrefix: String, sequence: Int) {
        self.year = year
        self.unitPrefix = unitPrefix
        self.sequence = sequence
    }

    public init(parsing raw: String) throws(DocumentNumberError) {
        let text = NumberText.hexagonalBrackets(NumberText.removingSpaces(raw))
            .replacingOccurrences(of: "－", with: "-").replacingOccurrences(of: "—", with: "-")
        let (issuer, year, tail) = try GovernmentDocumentNumber.split(text, raw: raw)
        guard issuer == Self.series else {
            throw DocumentNumberError(input: raw, problem: "a penalty decision number starts with \(Self.series), got '\(issuer)'")
        }
        guard let hyphen = tail.firstIndex(of: "-") else {
            throw DocumentNumberError(input: raw, problem: "the unit prefix and sequence are joined by a hyphen, e.g. 醴-24")
        }
        let unit = tail[..<hyphen]
        guard (1...3).contains(unit.count), unit.allSatisfy({ ($0.isASCII && $0.isUppercase) || !$0.isASCII }) else {
            throw DocumentNumberError(input: raw, problem: "the unit prefix must be 1–3 capital letters or Chinese characters, got '\(unit)'")
        }
        self.year = year
        unitPrefix = String(unit)
        sequence = try NumberText.sequence(tail[tail.index(after: hyphen)...], in: raw, what: "the unit's sequence")
    }

    public var description: String { "\(Self.series)〔\(year)〕\(unitPrefix)-\(sequence)号" }

    /// The number as the hub records it (brackets, spaces and hyphens
    /// normalised), or the text as sent when it does not parse.
    public static func normalised(_ text: String) -> String {
        (try? PenaltyDecisionNumber(parsing: text).description) ?? text
    }
}
