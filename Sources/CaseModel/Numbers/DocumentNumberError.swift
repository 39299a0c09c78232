import Foundation

/// Why a document number was refused, precisely enough to fix it.
public struct DocumentNumberError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The number as given.
    public var input: String
    /// What is wrong, e.g. "unknown case type code 行X".
    public var problem: String

    public var description: String { "invalid number '\(input.prefix(80))': \(problem)" }
}

/// Normalisation shared by every numbering scheme: stray spaces removed,
/// half-width and look-alike brackets replaced by the official ones.
enum NumberText {
    static func removingSpaces(_ text: String) -> String {
        String(text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init))
    }

    /// Round brackets of a court case number: `(2023)` → `（2023）`.
    static func fullWidthRoundBrackets(_ text: String) -> String {
        text.replacingOccurrences(of: "(", with: "（").replacingOccurrences(of: ")", with: "）")
    }

    /// Year brackets of a government document number (GB/T 9704): 〔2025〕.
    static func hexagonalBrackets(_ text: String) -> String {
        var result = text
        for (open, close) in [("[", "]"), ("［", "］"), ("【", "】"), ("(", ")"), ("（", "）"), ("〖", "〗")] {
            result = result.replacingOccurrences(of: open, with: "〔").replacingOccurrences(of: close, with: "〕")
        }
        return result
    }

    /// Parses a positive decimal without leading zeros.
    static func sequence(_ digits: Substring, in input: String, what: String) throws(DocumentNumberError) -> Int {
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw DocumentNumberError(input: input, problem: "\(what) must be a number, got '\(digits)'")
        }
        guard digits.first != "0" else {
            throw DocumentNumberError(input: input, problem: "\(what) must not have leading zeros ('\(digits)')")
        }
        guard let value = Int(digits), value > 0 else {
            throw DocumentNumberError(input: input, problem: "\(what) is out of range")
        }
        return value
    }

    static func year(_ digits: Substring, in input: String) throws(DocumentNumberError) -> Int {
        guard digits.count == 4, let year = Int(digits), digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw DocumentNumberError(input: input, problem: "the year must be 4 digits, got '\(digits)'")
        }
        guard (1980...2100).contains(year) else {
            throw DocumentNumberError(input: input, problem: "year \(year) is not plausible")
        }
        return year
    }
}
