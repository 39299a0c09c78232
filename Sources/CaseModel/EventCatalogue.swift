/// Every event type CaseHub knows, with its payload schema. The entries are
/// generated from `Schemas/tools/catalogue.py` (`make schemas`), so the Swift
/// validator checks exactly what the published schemas in `Schemas/` say.
public struct EventCatalogue: Sendable {
    /// One event type.
    public struct Entry: Sendable {
        /// e.g. `casehub.pil.recommendation-issued.v1`.
        public let type: EventType
        /// The procedure segment of the type, e.g. `pil`.
        public let procedure: String
        public let titleZH: String
        public let titleEN: String
        /// Who may send it, in words (the state machines enforce it).
        public let sender: String
        let schemaJSON: String

        public var schemaID: String { "https://casehub.example/schemas/events/\(type).schema.json" }

        init(type: String, procedure: String, titleZH: String, titleEN: String, sender: String, schemaJSON: String) {
            self.type = EventType(rawValue: type)
            self.procedure = procedure
            self.titleZH = titleZH
            self.titleEN = titleEN
            self.sender = sender
            self.schemaJSON = schemaJSON
        }
    }

    public let entries: [EventType: Entry]
    private let validator: JSONSchemaValidator

    /// The catalogue compiled into this build.
    public static let standard: EventCatalogue = {
        do {
            return try EventCatalogue(entries: generatedEntries, commonSchemaJSON: commonSchemaJSON)
        } catch {
            preconditionFailure("the generated event catalogue is invalid: \(error)")
        }
    }()

    init(entries: [Entry], commonSchemaJSON: String) throws {
        var documents = [try JSONValue.parse(Array(commonSchemaJSON.utf8))]
        for entry in entries { documents.append(try JSONValue.parse(Array(entry.schemaJSON.utf8))) }
        self.entries = Dictionary(uniqueKeysWithValues: entries.map { ($0.type, $0) })
        validator = try JSONSchemaValidator(documents: documents)
    }

    public subscript(type: EventType) -> Entry? { entries[type] }

    public var types: [EventType] { entries.keys.sorted() }

    /// The schema document of a type, for publishing.
    public func schema(of type: EventType) -> JSONValue? {
        entries[type].flatMap { try? JSONValue.parse(Array($0.schemaJSON.utf8)) }
    }

    /// Validates a payload against its type's schema. Violation paths start at
    /// `/data`, as the agency sees the event. An unknown type is one violation.
    public func validate(data: JSONValue, of type: EventType) -> [Violation] {
        guard entries[type] != nil else {
            return [Violation(path: "/type", rule: "enum", message: "unknown event type '\(type.rawValue.prefix(100))'")]
        }
        return validatePayload(data, of: type).map {
            Violation(path: "/data" + $0.path, rule: $0.rule, message: $0.message)
        }
    }

    /// Validates a payload with paths relative to the payload itself.
    public func validatePayload(_ instance: JSONValue, of type: EventType) -> [Violation] {
        guard let entry = entries[type] else { return [Violation(path: "", rule: "$ref", message: "unknown event type '\(type.rawValue.prefix(100))'")] }
        return validator.validate(instance, against: entry.schemaID)
    }
}
