public import CaseModel

// Tests may spell event types, refusal codes and event ids out: it keeps an
// assertion next to what an agency's system sees on the wire. Production
// code uses the generated constants.

extension EventType: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self.init(rawValue: value)
    }
}

extension RefusalCode: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        self.init(rawValue: value)
    }
}

extension EventID: ExpressibleByStringLiteral {
    public init(stringLiteral value: String) {
        guard let id = EventID(value) else { preconditionFailure("not a UUID: \(value)") }
        self = id
    }
}

extension JSONValue {
    /// An event id where a payload refers to an event, as agencies write it.
    public static func string(_ id: EventID) -> JSONValue { .string(id.description) }
}
