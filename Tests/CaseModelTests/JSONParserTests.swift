import CaseModel
import Foundation
import Testing

/// The hand-written parser against a reference (Python's `json`, through
/// `Schemas/tools/json_reference.py`): the same verdict and the same value on
/// every schema example and on byte-level mutations of them.
struct JSONParserTests {
    /// The reference's canonical bytes per document, nil where it refuses.
    static func referenceParse(_ documents: [[UInt8]]) throws -> [[UInt8]?] {
        let data = try SchemaAgreementTests.runReference("json_reference.py", input: Data(documents.map(hex).joined(separator: "\n").utf8))
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
        guard lines.count == documents.count else {
            throw SchemaAgreementTests.ReferenceUnavailable(message: "the JSON reference answered \(lines.count) lines for \(documents.count) documents")
        }
        return lines.map { $0 == "ERROR" ? nil : unhex($0) }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func unhex(_ text: String) -> [UInt8] {
        let digits = Array(text.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    static func corpus() throws -> [[UInt8]] {
        let folder = SchemaAgreementTests.schemas.appendingPathComponent("examples")
        var documents: [[UInt8]] = []
        for type in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
            let typeFolder = folder.appendingPathComponent(type)
            for file in try FileManager.default.contentsOfDirectory(atPath: typeFolder.path).sorted() where file.hasSuffix(".json") {
                documents.append(Array(try Data(contentsOf: typeFolder.appendingPathComponent(file))))
            }
        }
        documents += [
            #"{"a":1,"a":2}"#, #"[1.0, -0, 1e2, 1E-2, 12345678901234567890, -9223372036854775808]"#,
            // Whole numbers however spelled, and doubles where ECMAScript's text differs from Swift's.
            #"[1e16, 1.5e-7, 100.0, -0.0, 1e21, 123456789012345680000, 0.1, 9007199254740993e0, 1000000000000000.0]"#,
            #"[-9223372036854775808.0, 9223372036854775807e0, 92233720368547758.08e2, 1e-5, 1e-6, 1e-7, 2.5e-10, 1e-400, 0e400]"#,
            #""\ud83d\ude00 \u00e9\/\b\f\n\r\t""#, #""\ud83d""#, #""\ude00x""#, "\"\u{1}\"", #"[1,]"#, #"{"a":1,}"#,
            "01", "1.", ".5", "-", "+1", "1e", "NaN", "Infinity", "1e400", " \n true \t", "nul", "[", "{\"a\"", "\"abc",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", "\"\u{FEFF}\"", "{} {}",
        ].map { Array($0.utf8) }
        documents.append([0x22, 0xC3, 0x28, 0x22])  // invalid UTF-8 in a string
        return documents
    }

    /// Deterministic mutations: a byte deleted, replaced by a JSON-significant byte, or duplicated.
    static func mutations(of document: [UInt8], count: Int, seed: UInt64) -> [[UInt8]] {
        var state = seed
        func next() -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int(truncatingIfNeeded: state >> 33)
        }
        let significant = Array("{}[]\",:0-.eE\\ntfu1 \u{7}".utf8)
        return (0..<count).map { _ in
            guard !document.isEmpty else { return document }
            var mutated = document
            let position = next() % mutated.count
            switch next() % 3 {
            case 0: mutated.remove(at: position)
            case 1: mutated[position] = significant[next() % significant.count]
            default: mutated.insert(mutated[position], at: position)
            }
            return mutated
        }
    }

    @Test func agreesWithTheReferenceOnExamplesAndMutations() throws {
        var candidates: [[UInt8]] = []
        for (index, document) in try Self.corpus().enumerated() {
            candidates += [document] + Self.mutations(of: document, count: 40, seed: UInt64(index + 1))
        }
        let reference = try Self.referenceParse(candidates)
        var accepted = 0
        for (candidate, expected) in zip(candidates, reference) {
            let ours = try? JSONValue.parse(candidate)
            if ours != nil { accepted += 1 }
            #expect(ours?.canonicalBytes == expected,
                    "disagree on \(String(decoding: candidate.prefix(120), as: UTF8.self)): ours \(ours.map { "\($0)" } ?? "error"), reference \(expected.map { String(decoding: $0, as: UTF8.self) } ?? "error")")
        }
        #expect(candidates.count > 5_000)
        // Both verdicts must be well represented for the comparison to mean something.
        #expect(accepted > candidates.count / 10 && accepted < candidates.count * 9 / 10)
    }

    @Test func reportsWhereTheTextBreaks() {
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(#"{"a": tru}"#.utf8)) }
        do {
            _ = try JSONValue.parse(Array(#"{"a": [1, 2,, 3]}"#.utf8))
        } catch {
            #expect("\(error)".contains("at byte 12"))
        }
    }

    @Test func refusesNestingBeyondTheLimit() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array(deep.utf8)) }
    }
}
