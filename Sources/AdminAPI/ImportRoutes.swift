public import CaseModel
import Crypto
import Foundation
import HTTPCommon
public import HubStore
public import Hummingbird

/// `POST /v1/imports[?dryRun=true]`: an administrator back-fills historical
/// cases (a city moving its paper cases in). The body is a JSON array of
/// CloudEvents in structured form (or `{"events": [...]}`), in the order
/// they happened; their declared times drive the clocks. All or nothing:
/// 200 with the import's id and cases, or 422 naming every refused event by
/// its position; `dryRun` checks without storing. The hub's
/// `HistoricalImport` does the work; the process that runs the hub gives it.
public struct ImportRoutes: Sendable {
    /// Checks and (unless a dry run) stores the events, as `actor`; the file's SHA-256 is recorded.
    public typealias Importer = @Sendable (_ events: [CloudEvent], _ actor: AdministrativeActor, _ sha256: String, _ dryRun: Bool)
        async throws -> (refused: Bool, body: JSONValue)

    let tokens: AgencyTokenStore
    let importer: Importer
    /// Largest body accepted: a city's paper cases in several files, not one.
    static let maxBody = 64 << 20

    public init(tokens: AgencyTokenStore, importer: @escaping Importer) {
        self.tokens = tokens
        self.importer = importer
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.administratorGroup("v1", tokens: tokens).post("imports") { request, context in try await importCases(request, context) }
    }

    func importCases(_ request: Request, _ context: some IdentifiedRequestContext<Administrator>) async throws -> Response {
        let administrator = try context.requireIdentity()
        let dryRun = request.uri.queryParameters["dryRun"].map { $0 == "true" } ?? false
        var request = request
        let bytes = Array(try await request.collectBody(upTo: Self.maxBody).readableBytesView)
        let body: JSONValue
        do {
            body = try JSONValue.parse(bytes)
        } catch {
            throw ProblemDetails(.badRequest, title: "Malformed JSON", detail: "the body must be a JSON array of CloudEvents: \(error)")
        }
        guard let items = body.arrayValue ?? body["events"]?.arrayValue, !items.isEmpty else {
            throw ProblemDetails(.unprocessableContent, title: "No events", detail: "the body must be a non-empty JSON array of CloudEvents (or {\"events\": [...]})")
        }
        var events: [CloudEvent] = []
        var violations: [Violation] = []
        for (index, item) in items.enumerated() {
            do {
                events.append(try CloudEvent(structured: item))
            } catch {
                violations += error.violations.map { Violation(path: "/\(index)\($0.path)", rule: $0.rule, message: $0.message) }
            }
        }
        guard violations.isEmpty else {
            throw ProblemDetails(.unprocessableContent, title: "Invalid envelopes", detail: "\(violations.count) envelope error(s); nothing imported",
                                 violations: Array(violations.prefix(200)))
        }
        let digest = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
        let (refused, report) = try await importer(events, .administrator(administrator.name, tokenID: administrator.tokenID), digest, dryRun)
        return JSONResponse.make(refused ? .unprocessableContent : .ok, report)
    }
}
