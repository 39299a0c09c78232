import Foundation

/// A procuratorate document number, parsed by a configurable pattern because
/// the scheme is not confirmed from an official text. The default follows
/// practice: issuer abbreviation ending in 检, business (行公, 民公, 刑附民公),
/// document kind (建 recommendation, 告 announcement, 诉 indictment, 立 filing),
/// the year in 〔〕, the number and 号 — e.g. `株天检行公建〔2025〕7号`.
public struct ProcuratorateNumberScheme: Sendable {
    /// A regular expression with named groups `issuer`, `business`,
    /// `document`, `year` and `sequence`, matched against the normalised text.
    public let pattern: String
    private let regex: RegexBox

    public static let defaultPattern = #"^(?<issuer>\p{Han}{1,8}检)(?<business>刑附民公|行公|民公)(?<document>建|告|诉|立)〔(?<year>[0-9]{4})〕(?<sequence>[0-9]+)号$"#

    public static let standard: ProcuratorateNumberScheme = {
        do {
            return try ProcuratorateNumberScheme(pattern: defaultPattern)
        } catch {
            preconditionFailure("the built-in procuratorate number pattern is invalid: \(error)")
        }
    }()

    public init(pattern: String) throws(DocumentNumberError) {
        self.pattern = pattern
        do {
            regex = try RegexBox(pattern, at: "procuratorate number pattern")
        } catch {
            throw DocumentNumberError(input: pattern, problem: "the pattern does not compile")
        }
    }

    public struct Number: Sendable, Hashable, CustomStringConvertible {
        public var issuer: String
        public var business: String
        public var document: String
        public var year: Int
        public var sequence: Int
        public var description: String { "\(issuer)\(business)\(document)〔\(year)〕\(sequence)号" }
    }

    public func parse(_ raw: String) throws(DocumentNumberError) -> Number {
        let text = NumberText.hexagonalBrackets(NumberText.removingSpaces(raw))
        guard let groups = regex.namedGroups(in: text) else {
            throw DocumentNumberError(input: raw, problem: "does not follow the procuratorate scheme (e.g. 株天检行公建〔2025〕7号)")
        }
        func group(_ name: String) throws(DocumentNumberError) -> Substring {
            guard let value = groups[name] else { throw DocumentNumberError(input: raw, problem: "the pattern has no group \(name)") }
            return value
        }
        return Number(
            issuer: String(try group("issuer")), business: String(try group("business")), document: String(try group("document")),
            year: try NumberText.year(try group("year"), in: raw),
            sequence: try NumberText.sequence(try group("sequence"), in: raw, what: "the document number"))
    }
}
