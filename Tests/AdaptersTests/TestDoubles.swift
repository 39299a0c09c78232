import Adapters
import CaseModel
import HTTPCommon
import HubStore
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization

/// Tokens by owner, in memory; counts the lookups.
final class TokenTable: AgencyTokenLookup {
    let owners: [String: AgencyID]
    private let asked = Mutex<[String]>([])

    init(_ owners: [String: AgencyID]) {
        self.owners = owners
    }

    var lookups: [String] { asked.withLock { $0 } }

    func agency(forToken token: String) async throws -> AgencyID? {
        asked.withLock { $0.append(token) }
        return owners[token]
    }

    /// A token per served agency, an administrator's, and one of an agency this process does not serve.
    static var standard: TokenTable {
        TokenTable([
            "token-epb": "zz-epb", "token-court": "zz-court", "token-admin": "casehub-admin", "token-psb": "zz-psb",
        ])
    }
}

/// Records what the routes hand over, and answers as told.
final class RecordingSubmitter: AgencySubmitting {
    enum Answer: Sendable {
        case accept
        case refuse(SubmissionError)
        case fail(any Error & Sendable)
    }

    struct Call: Sendable, Equatable {
        var agency: AgencyID
        var json: JSONValue?
        var bytes: [UInt8]?
        var isXML: Bool?
    }

    private let answer: Answer
    private let recordOutcome: AgencySubmitter.RecordOutcome
    private let received = Mutex<[Call]>([])

    init(_ answer: Answer = .accept,
         recordOutcome: AgencySubmitter.RecordOutcome = .init(recordType: "NOTE", label: "a note", event: nil, note: "no canonical event")) {
        self.answer = answer
        self.recordOutcome = recordOutcome
    }

    var calls: [Call] { received.withLock { $0 } }

    private func respond() throws {
        switch answer {
        case .accept: return
        case .refuse(let error): throw error
        case .fail(let error): throw error
        }
    }

    func submit(documents json: JSONValue, from agency: AgencyID, logger: Logger) async throws -> [EventID] {
        received.withLock { $0.append(Call(agency: agency, json: json)) }
        try respond()
        let documents = json.arrayValue ?? [json]
        return documents.compactMap { $0["id"]?.stringValue.flatMap { EventID($0) } }
    }

    func submitRecord(_ bytes: [UInt8], isXML: Bool, from agency: AgencyID, logger: Logger) async throws -> AgencySubmitter.RecordOutcome {
        received.withLock { $0.append(Call(agency: agency, bytes: bytes, isXML: isXML)) }
        try respond()
        return recordOutcome
    }
}

/// Keeps what the routes report for administrators.
final class RecordedRefusals: AdapterRefusalRecording {
    private let recorded = Mutex<[AdapterRejection]>([])

    var all: [AdapterRejection] { recorded.withLock { $0 } }

    func record(_ rejection: AdapterRejection) {
        recorded.withLock { $0.append(rejection) }
    }
}

struct SomeInternalFailure: Error, Sendable, CustomStringConvertible {
    var description: String { "connection to db.internal.invalid:5432 refused (password=hunter2)" }
}

/// The agencies' routes as the server mounts them, in-process (no network,
/// no broker, no database): `ProblemMiddleware` on the router, the
/// authenticated agency group with the submission routes, and `GET whoami`
/// answering the identity the handler sees. `agencyMiddleware`, when given,
/// sits where the server puts its client-certificate check.
func withAgencyRoutes(
    submitter: RecordingSubmitter = RecordingSubmitter(),
    tokens: TokenTable = .standard,
    limits: AdapterLimits = AdapterLimits(),
    refusals: any AdapterRefusalRecording = RecordedRefusals(),
    agencyMiddleware: (any MiddlewareProtocol<Request, Response, BasicRequestContext>)? = nil,
    _ test: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    let router = Router(context: BasicRequestContext.self)
    router.add(middleware: ProblemMiddleware())
    var parent = router.group("v1/agencies/:agency")
    if let agencyMiddleware { parent = parent.add(middleware: agencyMiddleware) }
    let group = AgencyAccess(agencies: ["zz-epb", "zz-court"], tokens: tokens, limits: limits, refusals: refusals).group(under: parent)
    SubmissionRoutes(submitter: submitter, limits: limits, refusals: refusals).add(to: group)
    group.get("whoami") { _, context in try context.requireIdentity().rawValue }
    try await Application(router: router).test(.router, test)
}

extension TestClientProtocol {
    /// One request; the bearer token when given, the body as UTF-8.
    func call(_ method: HTTPRequest.Method, _ path: String, token: String? = nil, body: String? = nil,
              headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }
}

extension TestResponse {
    var json: JSONValue? { try? JSONValue.parse(Array(body.readableBytesView)) }
    var text: String { String(buffer: body) }
}
