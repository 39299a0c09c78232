import CaseModel

/// Why the hub refused an event: a stable code for machines, a reason for people.
public struct Refusal: Error, Sendable, Hashable {
    public var code: String
    public var reason: String
    public var violations: [Violation]

    public init(code: String, reason: String, violations: [Violation] = []) {
        self.code = code
        self.reason = reason
        self.violations = violations
    }

    var violationsJSON: JSONValue {
        .array(violations.map { .object(["path": .string($0.path), "rule": .string($0.rule), "message": .string($0.message)]) })
    }
}
