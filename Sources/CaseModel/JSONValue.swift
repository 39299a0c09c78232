import Foundation

/// A JSON document as a value: what event payloads are. Object keys keep no
/// order; ``canonicalBytes`` gives one stable serialisation (sorted keys, no
/// insignificant whitespace, numbers as RFC 8785 writes them) for hashing and
/// signatures.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Parses JSON text (RFC 8259). Throws ``JSONValue/ParseError`` with a
    /// position on bad input.
    ///
    /// A number that is a whole number fitting in 64 bits is `.integer`
    /// however it is spelled (`1e16`, `100.0`, `-0`); any other number is the
    /// nearest `.number`. `format` ``CanonicalFormat/legacy`` reads numbers as
    /// the hub did when it wrote that format: `.integer` only when spelled
    /// with digits alone.
    public static func parse(_ bytes: some Collection<UInt8>, format: CanonicalFormat = .current) throws -> JSONValue {
        try JSONParser.parse(Array(bytes), wholeNumbersByValue: format != .legacy)
    }

    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public let reason: String
        public var description: String { "malformed JSON: \(reason)" }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    public subscript(index: Int) -> JSONValue? {
        if case .array(let items) = self, items.indices.contains(index) { return items[index] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var integerValue: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: ExpressibleByFloatLiteral {
    public init(floatLiteral value: Double) { self = .number(value) }
}

extension JSONValue {
    /// Where the first U+0000 is, in a string or a key, as a JSON pointer; nil
    /// when there is none. JSON allows `\u0000` but PostgreSQL text and jsonb
    /// cannot hold it, so events carrying one are refused before storage.
    public var pathOfNULCharacter: String? {
        Self.pathOfNUL(in: self, at: "")
    }

    private static func pathOfNUL(in value: JSONValue, at path: String) -> String? {
        switch value {
        case .string(let text):
            return text.unicodeScalars.contains("\u{0}") ? path : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = pathOfNUL(in: item, at: "\(path)/\(index)") { return found }
            }
            return nil
        case .object(let members):
            for (key, member) in members {
                let here = "\(path)/\(key.unicodeScalars.contains("\u{0}") ? key.replacingOccurrences(of: "\u{0}", with: "\\u0000") : key)"
                if key.unicodeScalars.contains("\u{0}") { return here }
                if let found = pathOfNUL(in: member, at: here) { return found }
            }
            return nil
        default:
            return nil
        }
    }
}
