/// Why an event was refused: a stable code for machines, a reason in Chinese
/// and English for people, and the broken rules with their paths.
public struct Refusal: Error, Sendable, Hashable, CustomStringConvertible {
    /// e.g. `sender.not-allowed`, `transition.not-allowed`, `pil.reply-period-running`.
    public var code: RefusalCode
    public var reason: String
    public var reasonZH: String
    public var violations: [Violation]

    public init(code: RefusalCode, reason: String, reasonZH: String = "", violations: [Violation] = []) {
        self.code = code
        self.reason = reason
        self.reasonZH = reasonZH.isEmpty ? reason : reasonZH
        self.violations = violations
    }

    public var description: String { "\(code): \(reason)" }

    public var violationsJSON: JSONValue {
        .array(violations.map { .object(["path": .string($0.path), "rule": .string($0.rule), "message": .string($0.message)]) })
    }
}
