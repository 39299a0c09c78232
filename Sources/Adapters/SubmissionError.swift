public import CaseModel

/// Why an agency's submission was not handed to the hub, whichever way it
/// came (HTTP events or records, the file drop, the demo). Each case says
/// what is wrong in English (``description``) and, where a rule names a
/// place, which one (``violations``, JSON-pointer paths into what was sent).
///
/// This is the domain's answer; it knows nothing of HTTP. The agencies' HTTP
/// API turns it into a problem document (`ProblemDetails(_:)` in
/// `SubmissionProblems.swift`); the file drop decides by ``isRetriable``
/// whether a file stays for the next round or is moved to `failed/`.
///
/// Nothing was published when one is thrown. Failures of the database or the
/// broker other than ``hubUnavailable(failed:total:)`` are not submission
/// errors: they propagate as they are.
public enum SubmissionError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An array of events with nothing in it.
    case emptyBatch
    /// More events in one batch than the limit allows.
    case batchTooLarge(limit: Int)
    /// A string (or an object key) longer than `limit` UTF-8 bytes, at `path`.
    case stringTooLong(path: String, limit: Int)
    /// Text PostgreSQL cannot store (U+0000), at `path`.
    case unstorableText(path: String)
    /// A request body larger than the adapters read.
    case bodyTooLarge(limit: Int)
    /// Canonical events that break the envelope, the schema or the sender rule.
    case invalidEvents([Violation])
    /// Canonical events of which one claims to come from `agency`, another
    /// registered agency than the sender's: refused as ``invalidEvents(_:)``
    /// (the violations include the sender rule's), and told apart so that
    /// administrators see an attempt to act as another agency.
    case impersonation(of: AgencyID, violations: [Violation])
    /// Event ids already submitted with other content.
    case idReused([Violation])
    /// The sender's kind (nil: not a registered agency) has no native record table.
    case noNativeMapping(kind: AgencyKind?)
    /// Bytes that are not JSON; `reason` says where and why.
    case malformedJSON(reason: String)
    /// A native record that cannot be read as one (not a JSON object, malformed XML).
    case malformedRecord(format: RecordFormat, violations: [Violation])
    /// A native record whose fields cannot be mapped by its kind's table.
    case invalidRecord([Violation])
    /// A native record that maps to an event of `type` that breaks its schema;
    /// the violations' paths start with `/(<type>)`.
    case invalidMappedEvent(type: EventType, violations: [Violation])
    /// The broker did not take `failed` of `total` events; submitting them again is safe.
    case hubUnavailable(failed: Int, total: Int)
    /// A dropped file larger than the file drop reads.
    case fileTooLarge(name: String, size: Int, limit: Int)
    /// A dropped file that is neither `.json` nor `.xml`.
    case unsupportedFile(name: String)

    /// How a native record was sent.
    public enum RecordFormat: String, Sendable, Hashable {
        case json, xml
    }

    /// True when the same submission may succeed later unchanged (the hub was
    /// unreachable); false when it is refused for what it is.
    public var isRetriable: Bool {
        switch self {
        case .hubUnavailable: true
        default: false
        }
    }

    /// Each broken rule with the path it names; empty for errors about the whole submission.
    public var violations: [Violation] {
        switch self {
        case .stringTooLong(let path, let limit):
            [Violation(path: path, rule: "maxLength", message: "at most \(limit) UTF-8 bytes")]
        case .unstorableText(let path):
            [Violation(path: path, rule: "text", message: "no U+0000 (NUL) characters")]
        case .invalidEvents(let violations), .idReused(let violations), .invalidRecord(let violations), .impersonation(_, let violations):
            violations
        case .malformedRecord(_, let violations), .invalidMappedEvent(_, let violations):
            violations
        case .emptyBatch, .batchTooLarge, .bodyTooLarge, .noNativeMapping, .malformedJSON, .hubUnavailable, .fileTooLarge, .unsupportedFile:
            []
        }
    }

    /// What is wrong, in a sentence for the agency's developer.
    public var description: String {
        switch self {
        case .emptyBatch:
            "the batch holds no events"
        case .batchTooLarge(let limit):
            "at most \(limit) events per batch"
        case .stringTooLong(_, let limit):
            "a string exceeds \(limit) bytes; nothing was submitted"
        case .unstorableText:
            "text may not contain U+0000 (NUL); nothing was submitted"
        case .bodyTooLarge(let limit):
            "the body exceeds \(limit) bytes"
        case .invalidEvents(let violations), .impersonation(_, let violations):
            "\(violations.count) rule(s) broken; nothing was submitted"
        case .idReused(let violations):
            "\(violations.count) event id(s) were already submitted with different content; nothing was submitted"
        case .noNativeMapping(let kind):
            "agencies of kind \(kind?.rawValue ?? "?") have no native record mapping; submit canonical events"
        case .malformedJSON(let reason):
            reason
        case .malformedRecord(_, let violations):
            violations.map(\.message).joined(separator: "; ")
        case .invalidRecord(let violations):
            "\(violations.count) field(s) cannot be mapped; nothing was submitted"
        case .invalidMappedEvent(let type, let violations):
            "the record maps to a \(type) that breaks \(violations.count) rule(s); nothing was submitted"
        case .hubUnavailable(let failed, let total):
            "\(failed) of \(total) event(s) could not be handed to the hub; submit them again (ids make this safe)"
        case .fileTooLarge(let name, let size, let limit):
            "\(name) has \(size) bytes; at most \(limit)"
        case .unsupportedFile(let name):
            "\(name): only .json and .xml files are read"
        }
    }
}
