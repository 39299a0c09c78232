import CaseModel
import Foundation
import TestSupport
import Testing

/// The Swift validator must agree with the reference validator (Python's
/// `jsonschema`, Draft 2020-12 with format checking) on every example in
/// `Schemas/` and on thousands of mutations of them.
struct SchemaAgreementTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let schemas = root.appendingPathComponent("Schemas")

    struct Case {
        let type: EventType
        let instance: JSONValue
        let label: String
    }

    static func read(_ url: URL) throws -> JSONValue {
        try JSONValue.parse(Array(try Data(contentsOf: url)))
    }

    static func examples() throws -> [(case: Case, expectedValid: Bool)] {
        let folder = schemas.appendingPathComponent("examples")
        var result: [(Case, Bool)] = []
        for type in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
            let typeFolder = folder.appendingPathComponent(type)
            for file in try FileManager.default.contentsOfDirectory(atPath: typeFolder.path).sorted() where file.hasSuffix(".json") {
                let instance = try read(typeFolder.appendingPathComponent(file))
                result.append((Case(type: EventType(rawValue: type), instance: instance, label: "\(type)/\(file)"), file.hasPrefix("valid-")))
            }
        }
        return result
    }

    /// Replacement values that probe types, lengths and formats.
    static let probes: [JSONValue] = [
        .null, true, 0, -1, 1.5, 10737418241, "", "x", "A", "zz-epb", "-zz", "zz-", "ZZ", "a b", "案件",
        String(repeating: "长", count: 4001).jsonValue, String(repeating: "a", count: 65).jsonValue,
        "2025-03-12", "2025-02-29", "2024-02-29", "2025-13-01", "0000-01-01", "2025-3-12", "2025-03-12\n",
        "2025-03-12T10:00:00+08:00", "2025-03-12t10:00:00z", "2025-03-12T24:00:00Z", "2025-03-12T10:00:60Z",
        "2025-03-12T10:00:00.123456Z", "2025-03-12T10:00:00", "2025-03-12 10:00:00Z", "2025-03-12T10:00:00+0800",
        "2025-03-12T10:00:00Z\n", "2025-03-12T10:00:00.Z",
        "0b7e4c1a-3f7e-4c44-9a55-1f0c2f1e9d10", "0B7E4C1A-3F7E-4C44-9A55-1F0C2F1E9D10", "0b7e4c1a3f7e4c449a551f0c2f1e9d10",
        "0b7e4c1a-3f7e-4c44-9a55-1f0c2f1e9d1g", "{0b7e4c1a-3f7e-4c44-9a55-1f0c2f1e9d10}",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        [], ["x"], [.null], ["x", "x"], [:], ["name": "a.pdf"],
        // Boundaries of the lengths, sizes and counts the schemas use.
        2, 3, 10, 11, 50, 51, 64, 65, 200, 201, 1e20, -0.5, 0.0,
        String(repeating: "a", count: 64).jsonValue, String(repeating: "字", count: 200).jsonValue,
        String(repeating: "字", count: 201).jsonValue, String(repeating: "b", count: 4000).jsonValue,
        .array(Array(repeating: "x", count: 50)), .array(Array(repeating: "x", count: 51)),
        .array((0..<31).map { .string("建议\($0)") }), "zz-epb\n", "application/pdf", "text/plain; charset=utf-8",
    ]

    /// Every example, plus each valid example with each property removed or
    /// replaced by each probe, plus an unknown property.
    static func mutations(of examples: [(case: Case, expectedValid: Bool)]) -> [Case] {
        var cases: [Case] = []
        for (example, valid) in examples where valid {
            guard case .object(let members) = example.instance else { continue }
            for key in members.keys.sorted() {
                var removed = members
                removed.removeValue(forKey: key)
                cases.append(Case(type: example.type, instance: .object(removed), label: "\(example.label) -\(key)"))
                for (index, probe) in probes.enumerated() {
                    var changed = members
                    changed[key] = probe
                    cases.append(Case(type: example.type, instance: .object(changed), label: "\(example.label) \(key)=probe\(index)"))
                    // One level down, for objects and arrays of objects.
                    if case .object(var inner)? = members[key], let innerKey = inner.keys.sorted().first {
                        inner[innerKey] = probe
                        changed[key] = .object(inner)
                        cases.append(Case(type: example.type, instance: .object(changed), label: "\(example.label) \(key)/\(innerKey)=probe\(index)"))
                    }
                    if case .array(let items)? = members[key], case .object(var inner)? = items.first {
                        for innerKey in inner.keys.sorted() {
                            inner[innerKey] = probe
                            changed[key] = .array([.object(inner)] + items.dropFirst())
                            cases.append(Case(type: example.type, instance: .object(changed), label: "\(example.label) \(key)/0/\(innerKey)=probe\(index)"))
                            inner = items.first!.objectValue!
                        }
                    }
                }
            }
            var extra = members
            extra["unexpectedField"] = "x"
            cases.append(Case(type: example.type, instance: .object(extra), label: "\(example.label) +unexpectedField"))
        }
        return cases
    }

    /// Runs one of the Python reference tools (`Schemas/tools/…`) with `input` on stdin; returns its stdout.
    static func runReference(_ tool: String, arguments: [String] = [], input: Data) throws -> Data {
        let python = root.appendingPathComponent(".local/venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw ReferenceUnavailable(message: "\(python.path) is missing: run Deploy/local/setup.sh (make test does)")
        }
        let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("casehub-reference-\(UUID())")
        try input.write(to: inputFile)
        defer { try? FileManager.default.removeItem(at: inputFile) }
        let process = Process()
        process.executableURL = python
        process.arguments = [schemas.appendingPathComponent("tools/\(tool)").path] + arguments
        process.standardInput = try FileHandle(forReadingFrom: inputFile)
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ReferenceUnavailable(message: "\(tool) failed (status \(process.terminationStatus))")
        }
        return data
    }

    /// Runs the reference validator once over all cases.
    static func referenceVerdicts(_ cases: [Case]) throws -> [Bool] {
        let input = JSONValue.array(cases.map { .object(["type": .string($0.type.rawValue), "instance": $0.instance]) })
        let data = try runReference("validate.py", arguments: ["--stdin"], input: Data(input.canonicalBytes))
        guard case .array(let verdicts) = try JSONValue.parse(Array(data)) else {
            throw ReferenceUnavailable(message: "the reference validator's answer is not a JSON array")
        }
        return verdicts.map { $0["valid"] == .bool(true) }
    }

    struct ReferenceUnavailable: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    @Test func examplesHaveTheVerdictTheirNameSays() throws {
        let examples = try Self.examples()
        #expect(examples.count >= 2 * EventCatalogue.standard.types.count)
        for (example, expectedValid) in examples {
            let violations = EventCatalogue.standard.validatePayload(example.instance, of: example.type)
            #expect(violations.isEmpty == expectedValid, "\(example.label): \(violations)")
        }
    }

    @Test func swiftAndReferenceValidatorsAgree() throws {
        let examples = try Self.examples()
        let cases = examples.map(\.case) + Self.mutations(of: examples)
        let reference = try Self.referenceVerdicts(cases)
        #expect(reference.count == cases.count)
        var disagreements: [String] = []
        for (item, referenceValid) in zip(cases, reference) {
            let violations = EventCatalogue.standard.validatePayload(item.instance, of: item.type)
            if violations.isEmpty != referenceValid {
                disagreements.append("\(item.label): reference says \(referenceValid ? "valid" : "invalid"), Swift \(violations)")
            }
        }
        #expect(cases.count > 10_000)
        #expect(disagreements.isEmpty, "\(disagreements.count) of \(cases.count) disagree; first: \(disagreements.prefix(5))")
    }

    @Test func everyTypeHasASchemaFileAndAnAsyncAPIEntry() throws {
        let asyncapi = try String(contentsOf: Self.schemas.appendingPathComponent("asyncapi.yaml"), encoding: .utf8)
        for type in EventCatalogue.standard.types {
            let file = Self.schemas.appendingPathComponent("events/\(type).schema.json")
            // The compiled catalogue is what the published file says (no drift).
            let published = try Self.read(file)
            #expect(EventCatalogue.standard.schema(of: type) == published, "\(type): run `make schemas`")
            #expect(asyncapi.contains("name: \(type)"))
            let examples = try FileManager.default.contentsOfDirectory(atPath: Self.schemas.appendingPathComponent("examples/\(type)").path)
            #expect(examples.contains { $0.hasPrefix("valid-") } && examples.contains { $0.hasPrefix("invalid-") })
        }
        let common = try Self.read(Self.schemas.appendingPathComponent("common.schema.json"))
        #expect(common["$defs"]?["attachment"] != nil)
    }

    @Test func violationsNameThePathAndTheRule() {
        let payload: JSONValue = [
            "police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "株环移〔2025〕2号",
            "materials": [["kind": "gossip", "attachment": ["name": "a.pdf", "sha256": "XYZ", "size": -1]]],
            "extra": 1,
        ]
        let violations = EventCatalogue.standard.validate(data: payload, of: "casehub.crime.transferred.v1")
        let found = Set(violations.map { "\($0.path) \($0.rule)" })
        #expect(found == [
            "/data/extra additionalProperties",
            "/data/materials/0/kind enum",
            "/data/materials/0/attachment/sha256 pattern",
            "/data/materials/0/attachment/size minimum",
        ])
        #expect(EventCatalogue.standard.validate(data: [:], of: "casehub.nope.v1").first?.path == "/type")
    }
}

extension String {
    var jsonValue: JSONValue { .string(self) }
}
