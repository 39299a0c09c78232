public import Foundation

/// A CaseHub event in the CloudEvents 1.0 model.
///
/// Over Kafka it travels in binary mode (attributes as `ce_*` headers, the
/// payload as the value); over HTTP in structured mode (one JSON document).
/// ``id`` is the idempotency key, ``subject`` the case id, ``source`` the
/// sending agency's id.
public struct CloudEvent: Sendable, Hashable {
    public static let specVersion = "1.0"

    public var id: EventID
    /// The sending agency (or the hub, for what it emits).
    public var source: AgencyID
    public var type: EventType
    /// When the act happened, as the sender declares it.
    public var time: Date
    /// The case id.
    public var subject: String
    public var data: JSONValue
    /// Extension attributes (lower-case names), e.g. the adapter signature.
    public var extensions: [String: String]

    public init(id: EventID = EventID(), source: AgencyID, type: EventType, time: Date, subject: String, data: JSONValue, extensions: [String: String] = [:]) {
        self.id = id
        self.source = source
        self.type = type
        self.time = time
        self.subject = subject
        self.data = data
        self.extensions = extensions
    }
}

/// One broken rule of an event: where, which rule, and what to do about it.
/// Envelope checks and schema validation both report these.
public struct Violation: Error, Sendable, Hashable, CustomStringConvertible {
    /// JSON Pointer to the offending value, e.g. `/id` or `/data/materials/0/kind`.
    public var path: String
    /// The rule, named after the JSON Schema keyword where there is one:
    /// `required`, `type`, `enum`, `format`, `pattern`, `additionalProperties`, …
    public var rule: String
    public var message: String

    public init(path: String, rule: String, message: String) {
        self.path = path
        self.rule = rule
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// A list of envelope violations; empty lists are never thrown.
public struct EnvelopeError: Error, Sendable, CustomStringConvertible {
    public var violations: [Violation]
    public var description: String { violations.map(\.description).joined(separator: "; ") }
}

extension CloudEvent {
    static let coreAttributes: Set<String> = ["specversion", "id", "source", "type", "time", "subject", "datacontenttype", "data", "data_base64", "dataschema"]

    /// Reads a structured-mode JSON object, reporting every broken rule at once.
    public init(structured json: JSONValue) throws(EnvelopeError) {
        guard let object = json.objectValue else {
            throw EnvelopeError(violations: [Violation(path: "", rule: "type", message: "an event must be a JSON object")])
        }
        var violations: [Violation] = []
        func string(_ name: String) -> String? {
            switch object[name] {
            case .string(let value) where !value.isEmpty:
                return value
            case nil, .null?:
                violations.append(Violation(path: "/\(name)", rule: "required", message: "attribute '\(name)' is required"))
            default:
                violations.append(Violation(path: "/\(name)", rule: "type", message: "attribute '\(name)' must be a non-empty string"))
            }
            return nil
        }
        let specVersion = string("specversion")
        if let specVersion, specVersion != Self.specVersion {
            violations.append(Violation(path: "/specversion", rule: "const", message: "specversion must be \"1.0\", got \"\(specVersion)\""))
        }
        let idText = string("id")
        let id = idText.flatMap(EventID.init)
        if idText != nil, id == nil {
            violations.append(Violation(path: "/id", rule: "format", message: "id must be a UUID (it is the idempotency key)"))
        }
        let sourceText = string("source")
        let source = sourceText.flatMap(AgencyID.init(rawValue:))
        if let sourceText, source == nil {
            violations.append(Violation(path: "/source", rule: "pattern",
                                        message: "source must be an agency id (lower-case letters, digits, hyphens), got \"\(sourceText.prefix(80))\""))
        }
        let type = string("type").map(EventType.init(rawValue:))
        let subject = string("subject")
        let timeText = string("time")
        let time = timeText.flatMap(RFC3339.parse)
        if let timeText, time == nil {
            violations.append(Violation(path: "/time", rule: "format", message: "time must be an RFC 3339 date-time, got \"\(timeText.prefix(40))\""))
        }
        if let contentType = object["datacontenttype"],
           contentType.stringValue?.split(separator: ";").first?.trimmingCharacters(in: .whitespaces).lowercased() != "application/json" {
            violations.append(Violation(path: "/datacontenttype", rule: "const", message: "datacontenttype must be application/json"))
        }
        let data = object["data"]
        if data?.objectValue == nil {
            violations.append(Violation(path: "/data", rule: data == nil ? "required" : "type", message: "data must be a JSON object"))
        }
        var extensions: [String: String] = [:]
        for (name, value) in object where !Self.coreAttributes.contains(name) {
            guard name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber) }), !name.isEmpty, name.count <= 20 else {
                violations.append(Violation(path: "/\(name)", rule: "format", message: "extension attribute names are 1-20 lower-case letters or digits"))
                continue
            }
            guard let text = value.stringValue else {
                violations.append(Violation(path: "/\(name)", rule: "type", message: "extension attribute '\(name)' must be a string"))
                continue
            }
            extensions[name] = text
        }
        guard violations.isEmpty, let id, let source, let type, let subject, let time, let data else {
            throw EnvelopeError(violations: violations)
        }
        self.init(id: id, source: source, type: type, time: time, subject: subject, data: data, extensions: extensions)
    }

    /// The structured-mode JSON object.
    public var structured: JSONValue {
        var object: [String: JSONValue] = [
            "specversion": .string(Self.specVersion),
            "id": .string(id.description),
            "source": .string(source.rawValue),
            "type": .string(type.rawValue),
            "time": .string(RFC3339.format(time)),
            "subject": .string(subject),
            "datacontenttype": .string("application/json"),
            "data": data,
        ]
        for (name, value) in extensions { object[name] = .string(value) }
        return .object(object)
    }
}
