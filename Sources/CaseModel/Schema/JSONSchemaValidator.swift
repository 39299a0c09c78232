import Foundation

/// Validates JSON instances against JSON Schema 2020-12 documents, for the
/// keywords CaseHub's published schemas use. A schema using any other
/// assertion keyword is rejected when loaded, so the validator can never
/// silently skip a rule the contract states.
///
/// Semantics follow the reference validator (Python `jsonschema` with format
/// checking), which a test compares verdicts with on every example.
public struct JSONSchemaValidator: Sendable {
    /// Keywords understood; anything else in a schema is a load error.
    static let supportedKeywords: Set<String> = [
        "$schema", "$id", "$ref", "$defs", "$comment", "title", "description", "examples", "default",
        "type", "enum", "const",
        "properties", "required", "additionalProperties", "patternProperties",
        "items", "minItems", "maxItems", "uniqueItems",
        "minLength", "maxLength", "pattern", "format",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    ]

    public struct SchemaError: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { "invalid schema: \(message)" }
    }

    /// Schema documents by `$id`.
    private let documents: [String: JSONValue]
    private let patterns: [String: RegexBox]
    /// Every `$ref` of the loaded documents, resolved once at load (resolving
    /// builds and splits URI strings: too slow to do per event).
    private let references: [ReferenceKey: (target: JSONValue, base: String)]

    private struct ReferenceKey: Hashable, Sendable {
        var reference: String
        var base: String
    }

    /// Loads schema documents; each must have an absolute `$id`.
    public init(documents: [JSONValue]) throws(SchemaError) {
        var byID: [String: JSONValue] = [:]
        var patterns: [String: RegexBox] = [:]
        for document in documents {
            guard let id = document["$id"]?.stringValue, id.contains("://") else {
                throw SchemaError(message: "every schema document needs an absolute $id")
            }
            try Self.check(document, at: id, patterns: &patterns)
            byID[Self.stripFragment(id)] = document
        }
        self.documents = byID
        self.patterns = patterns
        var references: [ReferenceKey: (target: JSONValue, base: String)] = [:]
        for document in documents {
            Self.collectReferences(in: document, base: document["$id"]?.stringValue ?? "", documents: byID, into: &references)
        }
        self.references = references
    }

    /// Resolves every `$ref` under `schema`, with the base each is met with.
    private static func collectReferences(
        in schema: JSONValue, base: String, documents: [String: JSONValue],
        into references: inout [ReferenceKey: (target: JSONValue, base: String)]
    ) {
        switch schema {
        case .object(let keywords):
            var base = base
            if let id = keywords["$id"]?.stringValue { base = resolve(id, against: base) }
            if let reference = keywords["$ref"]?.stringValue,
               let resolved = resolveReference(reference, base: base, documents: documents) {
                references[ReferenceKey(reference: reference, base: base)] = resolved
            }
            for value in keywords.values { collectReferences(in: value, base: base, documents: documents, into: &references) }
        case .array(let items):
            for item in items { collectReferences(in: item, base: base, documents: documents, into: &references) }
        default:
            break
        }
    }

    /// Every rule `instance` breaks under the schema with this `$id`; empty when valid.
    public func validate(_ instance: JSONValue, against schemaID: String) -> [Violation] {
        guard let schema = documents[Self.stripFragment(schemaID)] else {
            return [Violation(path: "", rule: "$ref", message: "no schema \(schemaID)")]
        }
        var violations: [Violation] = []
        validate(instance, schema, base: schemaID, path: "", into: &violations)
        return violations
    }

    // MARK: validation

    private func validate(_ instance: JSONValue, _ schema: JSONValue, base: String, path: String, into violations: inout [Violation]) {
        guard case .object(let keywords) = schema else {
            if schema == .bool(false) { violations.append(Violation(path: path, rule: "false", message: "no value is allowed here")) }
            return
        }
        var base = base
        if let id = keywords["$id"]?.stringValue { base = Self.resolve(id, against: base) }

        if let reference = keywords["$ref"]?.stringValue {
            if let (target, targetBase) = resolveReference(reference, base: base) {
                validate(instance, target, base: targetBase, path: path, into: &violations)
            } else {
                violations.append(Violation(path: path, rule: "$ref", message: "unresolvable reference \(reference)"))
            }
        }
        if let type = keywords["type"] {
            let allowed = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue].compactMap { $0 }
            if !allowed.contains(where: { Self.instance(instance, hasType: $0) }) {
                violations.append(Violation(path: path, rule: "type", message: "must be \(allowed.joined(separator: " or ")), not \(Self.typeName(instance))"))
                return // the other keywords would only repeat the same complaint
            }
        }
        if let options = keywords["enum"]?.arrayValue, !options.contains(where: { Self.equal($0, instance) }) {
            let listed = options.prefix(12).map { $0.canonicalString }.joined(separator: ", ")
            violations.append(Violation(path: path, rule: "enum", message: "must be one of \(listed)"))
        }
        if let constant = keywords["const"], !Self.equal(constant, instance) {
            violations.append(Violation(path: path, rule: "const", message: "must be \(constant.canonicalString)"))
        }
        switch instance {
        case .object(let members):
            validateObject(members, keywords, base: base, path: path, into: &violations)
        case .array(let items):
            validateArray(items, keywords, base: base, path: path, into: &violations)
        case .string(let text):
            validateString(text, keywords, path: path, into: &violations)
        case .integer, .number:
            validateNumber(instance, keywords, path: path, into: &violations)
        default:
            break
        }
    }

    private func validateObject(_ members: [String: JSONValue], _ keywords: [String: JSONValue], base: String, path: String, into violations: inout [Violation]) {
        for name in keywords["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[name] == nil {
            violations.append(Violation(path: path + "/" + Self.escape(name), rule: "required", message: "required property '\(name)' is missing"))
        }
        let properties = keywords["properties"]?.objectValue ?? [:]
        let patternProperties = keywords["patternProperties"]?.objectValue ?? [:]
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            let childPath = path + "/" + Self.escape(name)
            var matched = false
            if let schema = properties[name] {
                matched = true
                validate(value, schema, base: base, path: childPath, into: &violations)
            }
            for (pattern, schema) in patternProperties where patterns[pattern]?.matches(name) == true {
                matched = true
                validate(value, schema, base: base, path: childPath, into: &violations)
            }
            if !matched, let additional = keywords["additionalProperties"] {
                if additional == .bool(false) {
                    violations.append(Violation(path: childPath, rule: "additionalProperties", message: "property '\(name.prefix(64))' is not allowed here"))
                } else {
                    validate(value, additional, base: base, path: childPath, into: &violations)
                }
            }
        }
    }

    private func validateArray(_ items: [JSONValue], _ keywords: [String: JSONValue], base: String, path: String, into violations: inout [Violation]) {
        if let minimum = Self.integer(keywords["minItems"]), items.count < minimum {
            violations.append(Violation(path: path, rule: "minItems", message: "must have at least \(minimum) item(s)"))
        }
        if let maximum = Self.integer(keywords["maxItems"]), items.count > maximum {
            violations.append(Violation(path: path, rule: "maxItems", message: "must have at most \(maximum) item(s)"))
        }
        if keywords["uniqueItems"] == .bool(true) {
            outer: for i in items.indices {
                for j in items.indices where j > i && Self.equal(items[i], items[j]) {
                    violations.append(Violation(path: path + "/\(j)", rule: "uniqueItems", message: "repeats item \(i)"))
                    break outer
                }
            }
        }
        if let itemSchema = keywords["items"] {
            for (index, item) in items.enumerated() {
                validate(item, itemSchema, base: base, path: path + "/\(index)", into: &violations)
            }
        }
    }

    private func validateString(_ text: String, _ keywords: [String: JSONValue], path: String, into violations: inout [Violation]) {
        let length = text.unicodeScalars.count
        if let minimum = Self.integer(keywords["minLength"]), length < minimum {
            violations.append(Violation(path: path, rule: "minLength", message: minimum == 1 ? "must not be empty" : "must be at least \(minimum) characters"))
        }
        if let maximum = Self.integer(keywords["maxLength"]), length > maximum {
            violations.append(Violation(path: path, rule: "maxLength", message: "must be at most \(maximum) characters (is \(length))"))
        }
        if let pattern = keywords["pattern"]?.stringValue, patterns[pattern]?.matches(text) != true {
            violations.append(Violation(path: path, rule: "pattern", message: "must match \(pattern)"))
        }
        if let format = keywords["format"]?.stringValue, !JSONSchemaFormats.check(format, text) {
            violations.append(Violation(path: path, rule: "format", message: "must be a valid \(format)\(JSONSchemaFormats.hint(format))"))
        }
    }

    private func validateNumber(_ instance: JSONValue, _ keywords: [String: JSONValue], path: String, into violations: inout [Violation]) {
        guard let value = Self.double(instance) else { return }
        if let minimum = keywords["minimum"].flatMap(Self.double), value < minimum {
            violations.append(Violation(path: path, rule: "minimum", message: "must be ≥ \(Self.show(minimum))"))
        }
        if let maximum = keywords["maximum"].flatMap(Self.double), value > maximum {
            violations.append(Violation(path: path, rule: "maximum", message: "must be ≤ \(Self.show(maximum))"))
        }
        if let minimum = keywords["exclusiveMinimum"].flatMap(Self.double), value <= minimum {
            violations.append(Violation(path: path, rule: "exclusiveMinimum", message: "must be > \(Self.show(minimum))"))
        }
        if let maximum = keywords["exclusiveMaximum"].flatMap(Self.double), value >= maximum {
            violations.append(Violation(path: path, rule: "exclusiveMaximum", message: "must be < \(Self.show(maximum))"))
        }
    }

    // MARK: references

    private func resolveReference(_ reference: String, base: String) -> (JSONValue, String)? {
        if let known = references[ReferenceKey(reference: reference, base: base)] { return known }
        return Self.resolveReference(reference, base: base, documents: documents)
    }

    private static func resolveReference(_ reference: String, base: String, documents: [String: JSONValue]) -> (target: JSONValue, base: String)? {
        let absolute = Self.resolve(reference, against: base)
        let parts = absolute.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        guard var target = documents[String(parts[0])] else { return nil }
        if parts.count == 2, !parts[1].isEmpty {
            for token in parts[1].split(separator: "/") {
                let key = token.contains("~") ? token.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~") : String(token)
                if let next = target[key] {
                    target = next
                } else if let index = Int(key), let items = target.arrayValue, items.indices.contains(index) {
                    target = items[index]
                } else {
                    return nil
                }
            }
        }
        return (target, String(parts[0]))
    }

    /// RFC 3986 reference resolution, for the forms schemas use
    /// (`#/…`, `other.json#/…`, `../other.json#/…`, absolute URIs).
    static func resolve(_ reference: String, against base: String) -> String {
        if reference.contains("://") { return reference }
        let baseDocument = stripFragment(base)
        if reference.hasPrefix("#") { return baseDocument + reference }
        var directory = baseDocument.split(separator: "/", omittingEmptySubsequences: false).dropLast().map(String.init)
        var remainder = Substring(reference)
        while remainder.hasPrefix("../") || remainder.hasPrefix("./") {
            if remainder.hasPrefix("../") {
                if directory.count > 3 { directory.removeLast() }
                remainder = remainder.dropFirst(3)
            } else {
                remainder = remainder.dropFirst(2)
            }
        }
        return directory.joined(separator: "/") + "/" + remainder
    }

    static func stripFragment(_ uri: String) -> String {
        String(uri.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0])
    }

    // MARK: loading checks

    private static func check(_ schema: JSONValue, at location: String, patterns: inout [String: RegexBox]) throws(SchemaError) {
        guard case .object(let keywords) = schema else { return }
        for (keyword, value) in keywords {
            guard supportedKeywords.contains(keyword) else {
                throw SchemaError(message: "\(location): unsupported keyword '\(keyword)'")
            }
            switch keyword {
            case "pattern":
                guard let pattern = value.stringValue else { throw SchemaError(message: "\(location): pattern must be a string") }
                patterns[pattern] = try RegexBox(pattern, at: location)
            case "patternProperties":
                for (pattern, subschema) in value.objectValue ?? [:] {
                    patterns[pattern] = try RegexBox(pattern, at: location)
                    try check(subschema, at: "\(location)/patternProperties", patterns: &patterns)
                }
            case "format":
                guard let format = value.stringValue, JSONSchemaFormats.supported.contains(format) else {
                    throw SchemaError(message: "\(location): unsupported format \(value.canonicalString)")
                }
            case "properties", "$defs":
                for (name, subschema) in value.objectValue ?? [:] {
                    try check(subschema, at: "\(location)/\(keyword)/\(name)", patterns: &patterns)
                }
            case "items", "additionalProperties":
                try check(value, at: "\(location)/\(keyword)", patterns: &patterns)
            default:
                break
            }
        }
    }

    // MARK: JSON semantics

    static func instance(_ value: JSONValue, hasType type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): true
        case ("integer", .integer), ("number", .integer), ("number", .number): true
        case ("integer", .number(let d)): d.isFinite && d.rounded() == d
        default: false
        }
    }

    static func typeName(_ value: JSONValue) -> String {
        switch value {
        case .null: "null"
        case .bool: "boolean"
        case .integer: "integer"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// JSON equality: numbers by value (1 == 1.0), booleans never equal numbers.
    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.integer, .integer), (.integer, .number), (.number, .integer), (.number, .number):
            return double(a) == double(b)
        case (.array(let x), .array(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { equal(value, $0) } ?? false }
        default:
            return a == b
        }
    }

    static func double(_ value: JSONValue) -> Double? {
        switch value {
        case .integer(let i): Double(i)
        case .number(let d): d
        default: nil
        }
    }

    static func integer(_ value: JSONValue?) -> Int? {
        switch value {
        case .integer(let i)?: Int(i)
        case .number(let d)? where d.rounded() == d: Int(d)
        default: nil
        }
    }

    static func show(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }

    /// JSON Pointer escaping of one reference token.
    static func escape(_ token: String) -> String {
        guard token.utf8.contains(where: { $0 == UInt8(ascii: "~") || $0 == UInt8(ascii: "/") }) else { return token }
        return token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}

/// A compiled regular expression (schema `pattern`s, numbering schemes). Patterns are searched, not anchored (ECMA-262 and
/// the reference validator's semantics); CaseHub's patterns anchor themselves.
struct RegexBox: @unchecked Sendable {
    // Regex is not Sendable; it is immutable after compilation and only read.
    private let regex: Regex<AnyRegexOutput>

    init(_ pattern: String, at location: String) throws(JSONSchemaValidator.SchemaError) {
        do {
            regex = try Regex(pattern)
        } catch {
            throw JSONSchemaValidator.SchemaError(message: "\(location): pattern \(pattern) does not compile: \(error)")
        }
    }

    func matches(_ text: String) -> Bool {
        (try? regex.firstMatch(in: text)) != nil
    }

    /// The named groups of a whole-text match, or nil.
    func namedGroups(in text: String) -> [String: Substring]? {
        guard let match = try? regex.wholeMatch(in: text) else { return nil }
        var groups: [String: Substring] = [:]
        for element in match.output {
            if let name = element.name, let value = element.substring { groups[name] = value }
        }
        return groups
    }
}
