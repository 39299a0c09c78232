import CaseModel
import Foundation
import Testing
import TestSupport

/// Event types and refusal codes are named constants generated from the
/// catalogue (`Schemas/tools/catalogue.py`); code that spells one out can
/// drift from it unseen. Tests may spell them (they check the wire).
struct CatalogueLiteralsTests {
    @Test func noSourceFileSpellsAnEventTypeOrARefusalCode() throws {
        let types = Set(EventType.catalogued.map(\.rawValue))
        // Also the short form (`pil.filed`) that code could build a type from.
        let shortTypes = Set(types.map { String($0.dropFirst("casehub.".count).dropLast(".v1".count)) })
        let codes = Set(RefusalCode.catalogued.keys.map(\.rawValue))
        #expect(types.count > 60 && codes.count > 40)
        let quoted = try Regex(#""([a-z-]+\.[a-z.-]+)""#)
        var found: [String] = []
        for file in try DocumentReferencesTests.trackedFiles() where file.hasPrefix("Sources/") && file.hasSuffix(".swift") && !file.contains("/Generated/") {
            let text = try String(contentsOf: PackagePaths.root.appendingPathComponent(file), encoding: .utf8)
            for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                if line.trimmingCharacters(in: .whitespaces).hasPrefix("//") { continue }
                for match in line.matches(of: quoted) {
                    let literal = String(line[match.range].dropFirst().dropLast())
                    if types.contains(literal) || shortTypes.contains(literal) || codes.contains(literal) {
                        found.append("\(file):\(number + 1): \(literal)")
                    }
                }
            }
        }
        #expect(found.isEmpty, "use the generated EventType / RefusalCode constants:\n\(found.joined(separator: "\n"))")
    }

    /// Every code a refusal can carry is in the catalogue's table, with its meaning in both languages.
    @Test func everyRefusalCodeHasItsMeaning() {
        for (code, meaning) in RefusalCode.catalogued {
            #expect(!meaning.zh.isEmpty && !meaning.en.isEmpty, "\(code)")
        }
    }
}
