import Adapters
import CaseModel
import HTTPCommon
import HTTPTypes
import HubStore
import Testing

/// One refusal and the problem document the HTTP API answers it with: the
/// statuses, titles and details the adapters have always answered; and the
/// code administrators see it under.
struct SubmissionErrorExpectation: Sendable, CustomTestStringConvertible {
    var error: SubmissionError
    var status: Int
    var title: String
    var detail: String
    /// The violations' paths, in order.
    var paths: [String] = []
    var retriable = false
    /// Nil: not recorded for administrators (the agency did nothing wrong).
    var code: RefusalCode?

    var testDescription: String { SubmissionErrorExpectation.name(error) }

    static let schema = [
        Violation(path: "/0/source", rule: "sender", message: "source must be 'zz-epb', the agency of this path"),
        Violation(path: "/1/id", rule: "required", message: "attribute 'id' is required"),
    ]
    static let envelope = [Violation(path: "/1/id", rule: "required", message: "attribute 'id' is required"),
                           Violation(path: "/1/data/summary", rule: "required", message: "required property 'summary' is missing")]
    static let payload = [Violation(path: "/data/summary", rule: "required", message: "required property 'summary' is missing"),
                          Violation(path: "/3/data", rule: "type", message: "must be object, not string")]
    static let reused = [Violation(path: "/1/id", rule: "unique", message: "id 1 was already used for other content")]
    static let unreadable = [Violation(path: "", rule: "xml", message: "malformed XML record at line 1: unclosed tag"),
                             Violation(path: "/JLLX", rule: "type", message: "text only")]
    static let unmappable = [Violation(path: "/record_type", rule: "enum", message: "unknown record type NOPE")]
    static let mapped = [Violation(path: "/(casehub.test.v1)/data/summary", rule: "required", message: "summary is required")]

    static let all: [SubmissionErrorExpectation] = [
        .init(error: .emptyBatch, status: 422, title: "Empty batch", detail: "the batch holds no events", code: .adapterBatchEmpty),
        .init(error: .batchTooLarge(limit: 500), status: 413, title: "Batch too large", detail: "at most 500 events per batch", code: .adapterTooLarge),
        .init(error: .bodyTooLarge(limit: 4_194_304), status: 413, title: "Body too large", detail: "the body exceeds 4194304 bytes",
              code: .adapterTooLarge),
        .init(error: .stringTooLong(path: "/data/summary", limit: 100), status: 413, title: "String too long",
              detail: "a string exceeds 100 bytes; nothing was submitted", paths: ["/data/summary"], code: .adapterTooLarge),
        .init(error: .unstorableText(path: "/1/subject"), status: 422, title: "Unstorable text",
              detail: "text may not contain U+0000 (NUL); nothing was submitted", paths: ["/1/subject"], code: .adapterUnstorableText),
        // A source that is no registered agency; a broken envelope; a payload against its schema.
        .init(error: .invalidEvents(schema), status: 422, title: "Invalid event",
              detail: "2 rule(s) broken; nothing was submitted", paths: ["/0/source", "/1/id"], code: .senderUnknown),
        .init(error: .invalidEvents(envelope), status: 422, title: "Invalid event",
              detail: "2 rule(s) broken; nothing was submitted", paths: ["/1/id", "/1/data/summary"], code: .envelopeInvalid),
        .init(error: .invalidEvents(payload), status: 422, title: "Invalid event",
              detail: "2 rule(s) broken; nothing was submitted", paths: ["/data/summary", "/3/data"], code: .schemaInvalid),
        // Answered as any invalid event: the agency's system learns nothing new; administrators do.
        .init(error: .impersonation(of: "zz-procuratorate", violations: schema), status: 422, title: "Invalid event",
              detail: "2 rule(s) broken; nothing was submitted", paths: ["/0/source", "/1/id"], code: .adapterImpersonation),
        .init(error: .idReused(reused), status: 409, title: "Event id reused",
              detail: "1 event id(s) were already submitted with different content; nothing was submitted", paths: ["/1/id"],
              code: .eventIDReused),
        .init(error: .noNativeMapping(kind: .publicSecurity), status: 404, title: "No native mapping",
              detail: "agencies of kind public-security have no native record mapping; submit canonical events", code: .adapterNoNativeMapping),
        .init(error: .noNativeMapping(kind: nil), status: 404, title: "No native mapping",
              detail: "agencies of kind ? have no native record mapping; submit canonical events", code: .adapterNoNativeMapping),
        .init(error: .malformedJSON(reason: "malformed JSON: unexpected end at byte 9"), status: 400, title: "Malformed JSON",
              detail: "malformed JSON: unexpected end at byte 9", code: .adapterMalformed),
        .init(error: .malformedRecord(format: .xml, violations: unreadable), status: 400, title: "Malformed XML",
              detail: "malformed XML record at line 1: unclosed tag; text only", paths: ["", "/JLLX"], code: .adapterMalformed),
        .init(error: .malformedRecord(format: .json, violations: [Violation(path: "", rule: "type", message: "a native record is a JSON object")]),
              status: 400, title: "Malformed record", detail: "a native record is a JSON object", paths: [""], code: .adapterMalformed),
        .init(error: .invalidRecord(unmappable), status: 422, title: "Invalid native record",
              detail: "1 field(s) cannot be mapped; nothing was submitted", paths: ["/record_type"], code: .adapterRecordInvalid),
        .init(error: .invalidMappedEvent(type: EventType(rawValue: "casehub.test.v1"), violations: mapped), status: 422, title: "Invalid native record",
              detail: "the record maps to a casehub.test.v1 that breaks 1 rule(s); nothing was submitted", paths: ["/(casehub.test.v1)/data/summary"],
              code: .adapterRecordInvalid),
        .init(error: .hubUnavailable(failed: 2, total: 3), status: 503, title: "Hub unavailable",
              detail: "2 of 3 event(s) could not be handed to the hub; submit them again (ids make this safe)", retriable: true),
        .init(error: .fileTooLarge(name: "big.json", size: 5_000_000, limit: 4_194_304), status: 413, title: "File too large",
              detail: "big.json has 5000000 bytes; at most 4194304", code: .adapterTooLarge),
        .init(error: .unsupportedFile(name: "notes.txt"), status: 415, title: "Unsupported file", detail: "notes.txt: only .json and .xml files are read",
              code: .adapterUnsupportedFile),
    ]

    /// Exhaustive: a new case does not compile until it is named here, and
    /// ``SubmissionErrorTests/everyCaseHasAnExpectation()`` then wants a row for it.
    static func name(_ error: SubmissionError) -> String {
        switch error {
        case .emptyBatch: "emptyBatch"
        case .batchTooLarge: "batchTooLarge"
        case .bodyTooLarge: "bodyTooLarge"
        case .stringTooLong: "stringTooLong"
        case .unstorableText: "unstorableText"
        case .invalidEvents(let violations): "invalidEvents(\(violations.first?.path ?? ""))"
        case .impersonation: "impersonation"
        case .idReused: "idReused"
        case .noNativeMapping(let kind): "noNativeMapping(\(kind?.rawValue ?? "nil"))"
        case .malformedJSON: "malformedJSON"
        case .malformedRecord(let format, _): "malformedRecord(\(format))"
        case .invalidRecord: "invalidRecord"
        case .invalidMappedEvent: "invalidMappedEvent"
        case .hubUnavailable: "hubUnavailable"
        case .fileTooLarge: "fileTooLarge"
        case .unsupportedFile: "unsupportedFile"
        }
    }
}

struct SubmissionErrorTests {
    @Test func everyCaseHasAnExpectation() {
        let names = Set(SubmissionErrorExpectation.all.map { SubmissionErrorExpectation.name($0.error).prefix { $0 != "(" } })
        #expect(names.count == 16)
    }

    @Test(arguments: SubmissionErrorExpectation.all)
    func theProblemDocument(_ expected: SubmissionErrorExpectation) {
        let problem = ProblemDetails(expected.error)
        #expect(Int(problem.status.code) == expected.status)
        #expect(problem.title == expected.title)
        #expect(problem.detail == expected.detail)
        #expect(problem.detail == expected.error.description)
        #expect(problem.violations == expected.error.violations)
        #expect(problem.violations.map(\.path) == expected.paths)
        #expect(problem.headers.isEmpty)
        // The document: exactly the RFC 9457 members, plus violations when there are any.
        var members: [String: JSONValue] = [
            "type": "about:blank", "title": .string(expected.title), "status": .integer(Int64(expected.status)), "detail": .string(expected.detail),
        ]
        if !problem.violations.isEmpty {
            members["violations"] = .array(problem.violations.map {
                .object(["path": .string($0.path), "rule": .string($0.rule), "message": .string($0.message)])
            })
        }
        #expect(problem.json == .object(members))
    }

    @Test(arguments: SubmissionErrorExpectation.all)
    func onlyAnUnreachableHubIsWorthRetrying(_ expected: SubmissionErrorExpectation) {
        #expect(expected.error.isRetriable == expected.retriable)
    }

    /// Every refusal of what an agency sent has a catalogued code (so the
    /// listing can say what it means in both languages), with the status it
    /// was answered with; an unreachable hub is nothing the agency did.
    @Test(arguments: SubmissionErrorExpectation.all)
    func theCodeAdministratorsSeeItUnder(_ expected: SubmissionErrorExpectation) {
        #expect(expected.error.refusalCode == expected.code)
        if let code = expected.code { #expect(RefusalCode.catalogued[code] != nil) }
        let rejection = AdapterRejection(expected.error, by: "zz-epb", request: "POST /v1/agencies/zz-epb/events", tokenHash: [1, 2],
                                         body: RefusedBody(read: Array("{}".utf8)))
        #expect(rejection?.code == expected.code)
        #expect(rejection.map { $0.httpStatus == expected.status } ?? (expected.code == nil))
        #expect(rejection.map { $0.violations == expected.error.violations } ?? true)
        #expect(rejection?.claimedAgency == (expected.code == .adapterImpersonation ? "zz-procuratorate" : nil))
    }

    @Test func theLimitsNameTheStringAndThePath() throws {
        var limits = AdapterLimits()
        limits.maxStringBytes = 10
        let event: JSONValue = .object(["data": .object(["summary": .string("污染污染")]), "subject": "ok"])
        #expect(throws: SubmissionError.stringTooLong(path: "/data/summary", limit: 10)) { try limits.checkStrings(in: event) }
        #expect(throws: SubmissionError.stringTooLong(path: "/3/data/summary", limit: 10)) { try limits.checkStrings(in: event, pathPrefix: "/3") }
        // A key counts as a string too.
        let key: JSONValue = .object([String(repeating: "k", count: 11): "v"])
        #expect(throws: SubmissionError.stringTooLong(path: "/" + String(repeating: "k", count: 11), limit: 10)) { try limits.checkStrings(in: key) }
        try limits.checkStrings(in: .object(["subject": "0123456789"]))

        let nul: JSONValue = .array(["fine", .object(["subject": "a\u{0}b"])])
        #expect(throws: SubmissionError.unstorableText(path: "/1/subject")) { try AdapterLimits.checkStorable(nul) }
        try AdapterLimits.checkStorable(.object(["subject": "fine"]))
    }
}
