public import CaseModel
import HTTPCommon
public import HubStore
import Hummingbird

/// Where the adapters report a request they refused with a 4xx, for
/// administrators (``AdapterRefusalLog``). It must return at once: the
/// caller's answer does not wait for it, and nothing it does can change it.
public protocol AdapterRefusalRecording: Sendable {
    func record(_ rejection: AdapterRejection)
}

extension SubmissionError {
    /// The code administrators see for this refusal of an agency's request
    /// (stage `adapter`): the adapters' own, or the hub's where it means the
    /// same. Nil when the agency did nothing wrong (the hub was unreachable).
    public var refusalCode: RefusalCode? {
        switch self {
        case .impersonation: .adapterImpersonation
        case .invalidEvents(let violations): Self.refusalCode(of: violations)
        case .idReused: .eventIDReused
        case .emptyBatch: .adapterBatchEmpty
        case .batchTooLarge, .bodyTooLarge, .stringTooLong, .fileTooLarge: .adapterTooLarge
        case .unstorableText: .adapterUnstorableText
        case .malformedJSON, .malformedRecord: .adapterMalformed
        case .invalidRecord, .invalidMappedEvent: .adapterRecordInvalid
        case .noNativeMapping: .adapterNoNativeMapping
        case .unsupportedFile: .adapterUnsupportedFile
        case .hubUnavailable: nil
        }
    }

    /// Invalid canonical events: a source that is no registered agency (a
    /// registered one is ``impersonation(of:violations:)``), else a broken
    /// envelope, else a payload that breaks its schema.
    static func refusalCode(of violations: [Violation]) -> RefusalCode {
        if violations.contains(where: { $0.rule == "sender" }) { return .senderUnknown }
        return violations.allSatisfy { isInPayload($0.path) } ? .schemaInvalid : .envelopeInvalid
    }

    /// `/data/…`, or `/<index>/data/…` in a batch.
    static func isInPayload(_ path: String) -> Bool {
        path.wholeMatch(of: /(\/[0-9]+)?\/data(\/.*)?/.dotMatchesNewlines()) != nil
    }
}

extension AdapterRejection {
    /// A refused submission, as administrators see it; nil when it is no
    /// refusal of what the agency sent (``SubmissionError/refusalCode``).
    /// `request` says what was asked, `tokenHash` which token asked it.
    public init?(_ error: SubmissionError, by agency: AgencyID, request: String, tokenHash: [UInt8]?, body: RefusedBody) {
        guard let code = error.refusalCode else { return nil }
        var claimed: AgencyID?
        var reason = error.description
        if case .impersonation(let other, _) = error {
            claimed = other
            reason = "\(agency) sent events as \(other): \(reason)"
        }
        self.init(agency: agency, claimedAgency: claimed, tokenHash: tokenHash, request: request,
                  httpStatus: Int(ProblemDetails(error).status.code), code: code, reason: reason, violations: error.violations, body: body)
    }

    /// A refused HTTP submission: the request's method and path, and its bearer token.
    init?(_ error: SubmissionError, by agency: AgencyID, request: Request, body: RefusedBody) {
        self.init(error, by: agency, request: Self.requestLine(request), tokenHash: Self.tokenHash(request), body: body)
    }

    /// A token of `owner` on the paths of `claimed`, refused (`403`) before its body was read.
    static func impersonation(token: String, of owner: AgencyID, on claimed: AgencyID, request: Request) -> AdapterRejection {
        AdapterRejection(
            agency: owner, claimedAgency: claimed, tokenHash: AgencyTokenStore.hash(token), request: requestLine(request),
            httpStatus: Int(HTTPResponse.Status.forbidden.code), code: .adapterImpersonation,
            reason: "a token of \(owner) was used on the paths of \(claimed)", body: RefusedBody(unreadDeclaring: declaredLength(request)))
    }

    /// `POST /v1/agencies/zz-epb/events`: the path without its query.
    static func requestLine(_ request: Request) -> String {
        "\(request.method.rawValue) \(request.uri.path)"
    }

    /// The SHA-256 of the request's bearer token, as the token store keeps it.
    static func tokenHash(_ request: Request) -> [UInt8]? {
        BearerToken.presented(request).map(AgencyTokenStore.hash)
    }

    /// The size a request says its body has.
    static func declaredLength(_ request: Request) -> Int? {
        request.headers[.contentLength].flatMap { Int($0) }
    }
}
