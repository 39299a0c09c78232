import CaseModel
import Crypto
import Foundation
import HubStore
import Hummingbird
import Kafka
import Logging
import HTTPCommon

/// The agency-side HTTP API of the adapters, mounted once for every agency it serves:
///
/// - `POST /v1/agencies/{agency}/events` — canonical events (structured CloudEvents, one or a batch)
/// - `POST /v1/agencies/{agency}/records` — one native record of the agency's system (JSON, or XML for courts)
/// - `GET  /v1/agencies/{agency}/inbox?after=&limit=&wait=` — delivered events, oldest first, long-poll
/// - `POST /v1/agencies/{agency}/inbox/ack` — `{"cursor": N}` acknowledges everything up to N
/// - `GET  /v1/agencies/{agency}/cases/{caseId}` — the agency's view of a case it is party to
/// - `PUT|GET|DELETE /v1/agencies/{agency}/webhook` — push deliveries to the agency's URL (``WebhookPusher``)
///
/// Every path needs `Authorization: Bearer <token>` with a token issued to
/// that agency (`casehub agencies token ID`); another agency's token is refused.
public struct AdapterRoutes: Sendable {
    let agencies: Set<AgencyID>
    let submitter: AgencySubmitter
    let deliveries: DeliveryStore
    let delivered: Wakeup
    let tokens: AgencyTokenStore
    let cases: CaseViews
    let webhooks: WebhookStore
    let limits: AdapterLimits
    let rateLimiter: AgencyRateLimiter

    public init(agencies: Set<AgencyID>, submitter: AgencySubmitter, deliveries: DeliveryStore, delivered: Wakeup,
                tokens: AgencyTokenStore, cases: CaseViews, webhooks: WebhookStore, limits: AdapterLimits = AdapterLimits()) {
        self.agencies = agencies
        self.submitter = submitter
        self.deliveries = deliveries
        self.delivered = delivered
        self.tokens = tokens
        self.cases = cases
        self.webhooks = webhooks
        self.limits = limits
        rateLimiter = AgencyRateLimiter(requestsPerSecond: limits.requestsPerSecond, burst: limits.burst)
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        add(to: router.group("v1/agencies/:agency"))
    }

    /// As ``add(to:)``, with `agencyMiddleware` on every agency path, after
    /// routing and before the routes' own token check (the server's
    /// client-certificate check).
    public func add<Middleware: RouterMiddleware>(to router: Router<Middleware.Context>, agencyMiddleware: Middleware) {
        add(to: router.group("v1/agencies/:agency").add(middleware: agencyMiddleware))
    }

    private func add<Context: RequestContext>(to group: RouterGroup<Context>) {
        group.post("events") { request, context in try await submitEvents(request, context) }
        group.post("records") { request, context in try await submitRecord(request, context) }
        group.get("inbox") { request, context in try await inbox(request, context) }
        group.post("inbox/ack") { request, context in try await acknowledge(request, context) }
        group.get("cases/:caseId") { request, context in try await caseView(request, context) }
        group.put("webhook") { request, context in try await putWebhook(request, context) }
        group.get("webhook") { request, context in try await getWebhook(request, context) }
        group.delete("webhook") { request, context in try await deleteWebhook(request, context) }
    }

    /// The agency of the path, once the request's bearer token is shown to be that agency's.
    private func agency(_ request: Request, _ context: some RequestContext) async throws -> AgencyID {
        let text = try context.parameters.require("agency")
        guard let id = AgencyID(rawValue: text), agencies.contains(id) else {
            throw ProblemDetails(.notFound, title: "Unknown agency", detail: "no adapter serves agency '\(text.prefix(80))' here")
        }
        let token = try BearerToken.require(request, realm: "casehub", howToGet: "a token issued to \(id) (casehub agencies token \(id))")
        guard let owner = try await tokens.agency(forToken: token) else { throw BearerToken.unknown(realm: "casehub") }
        guard owner == id else {
            throw ProblemDetails(.forbidden, title: "Forbidden", detail: "this token belongs to another agency; it works only on that agency's paths")
        }
        // After authentication: only the agency's own requests spend its budget.
        if let wait = rateLimiter.admit(id) { throw AgencyRateLimiter.tooManyRequests(retryAfter: wait, limits: limits) }
        return id
    }

    /// The whole body, or 413 beyond the limit.
    private func readBody(_ request: Request) async throws -> [UInt8] {
        var request = request
        do {
            return Array(try await request.collectBody(upTo: limits.maxBodyBytes).readableBytesView)
        } catch {
            throw ProblemDetails(.contentTooLarge, title: "Body too large", detail: "the body exceeds \(limits.maxBodyBytes) bytes")
        }
    }

    private func readJSON(_ request: Request) async throws -> JSONValue {
        let body = try await readBody(request)
        do {
            return try JSONValue.parse(body)
        } catch {
            throw ProblemDetails(.badRequest, title: "Malformed JSON", detail: "\(error)")
        }
    }

    // MARK: POST events

    func submitEvents(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        let json = try await readJSON(request)
        let ids = try await submitter.submit(documents: json, from: agency, logger: context.logger)
        return JSONResponse.make(.accepted, .object(["accepted": .array(ids.map { .string($0.description) })]))
    }

    // MARK: POST records

    func submitRecord(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        let body = try await readBody(request)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let isXML = contentType.hasPrefix("application/xml") || contentType.hasPrefix("text/xml")
        let outcome = try await submitter.submitRecord(body, isXML: isXML, from: agency, logger: context.logger)
        return JSONResponse.make(outcome.event == nil ? .ok : .accepted, outcome.json)
    }

    // MARK: inbox

    func inbox(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        let query = request.uri.queryParameters
        func integer(_ name: String) throws -> Int64? {
            guard let text = query.get(name) else { return nil }
            guard let value = Int64(text), value >= 0 else {
                throw ProblemDetails(.badRequest, title: "Invalid parameter", detail: "\(name) must be a non-negative integer",
                                     violations: [Violation(path: "?\(name)", rule: "type", message: "non-negative integer")])
            }
            return value
        }
        let after = try integer("after")
        let limit = Int(min(try integer("limit") ?? 100, Int64(limits.maxInboxPage)))
        let wait = Int(min(try integer("wait") ?? 0, Int64(limits.maxWaitSeconds)))
        let deadline = ContinuousClock.now + .seconds(wait)
        var page = try await deliveries.inbox(agency: agency, after: after, limit: max(limit, 1))
        while page.isEmpty && ContinuousClock.now < deadline {
            await delivered.wait(timeout: min(.milliseconds(500), deadline - ContinuousClock.now))
            page = try await deliveries.inbox(agency: agency, after: after, limit: max(limit, 1))
        }
        let next = page.last?.cursor ?? after
        var body: [String: JSONValue] = [
            "events": .array(page.map { .object(["cursor": .integer($0.cursor), "event": $0.event.structured]) }),
        ]
        body["nextCursor"] = next.map(JSONValue.integer) ?? .null
        return JSONResponse.make(.ok, .object(body))
    }

    func acknowledge(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        let json = try await readJSON(request)
        guard case .integer(let cursor)? = json["cursor"], cursor >= 0 else {
            throw ProblemDetails(.unprocessableContent, title: "Invalid acknowledgement", detail: "the body must be {\"cursor\": N}",
                                 violations: [Violation(path: "/cursor", rule: "required", message: "a non-negative integer cursor is required")])
        }
        let count = try await deliveries.acknowledge(agency: agency, through: cursor)
        return JSONResponse.make(.ok, .object(["acknowledged": .integer(Int64(count)), "cursor": .integer(cursor)]))
    }

    // MARK: cases

    func caseView(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        let caseID = try context.parameters.require("caseId")
        guard caseID.utf8.count <= 256, !caseID.unicodeScalars.contains("\u{0}") else {
            throw ProblemDetails(.notFound, title: "Case not found", detail: "no such case that \(agency) is party to")
        }
        // The same answer for a case that does not exist and one the agency is not party to.
        guard let view = try await cases.view(caseID: caseID, for: agency) else {
            throw ProblemDetails(.notFound, title: "Case not found", detail: "no case '\(caseID.prefix(128))' that \(agency) is party to")
        }
        return JSONResponse.make(.ok, view)
    }

    // MARK: webhook

    func putWebhook(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        let json = try await readJSON(request)
        var violations: [Violation] = []
        let url = json["url"]?.stringValue ?? ""
        if let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host?.isEmpty == false, url.count <= 2_000 {
            // fine
        } else {
            violations.append(Violation(path: "/url", rule: "format", message: "an absolute http or https URL is required"))
        }
        var secret = json["secret"]?.stringValue
        if let given = secret, !(16...200).contains(given.count) {
            violations.append(Violation(path: "/secret", rule: "length", message: "a secret has 16 to 200 characters"))
        }
        guard violations.isEmpty else {
            throw ProblemDetails(.unprocessableContent, title: "Invalid webhook", detail: "the webhook was not changed", violations: violations)
        }
        let generated = secret == nil
        if secret == nil {
            var random = SystemRandomNumberGenerator()
            secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
        }
        try await webhooks.register(agency: agency, url: url, secret: secret!)
        delivered.signal()
        var body: [String: JSONValue] = ["url": .string(url)]
        // A secret the hub made is shown once, here.
        if generated { body["secret"] = .string(secret!) }
        return JSONResponse.make(.ok, .object(body))
    }

    func getWebhook(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        guard let status = try await webhooks.status(agency: agency) else {
            throw ProblemDetails(.notFound, title: "No webhook", detail: "\(agency) has no webhook; deliveries wait in its inbox")
        }
        var body: [String: JSONValue] = ["url": .string(status.url), "pending": .integer(Int64(status.pending))]
        body["lastSuccessAt"] = status.lastSuccessAt.map { .string(RFC3339.format($0)) }
        body["lastFailureAt"] = status.lastFailureAt.map { .string(RFC3339.format($0)) }
        body["lastError"] = status.lastError.map(JSONValue.string)
        body["nextAttemptAt"] = status.nextAttemptAt.map { .string(RFC3339.format($0)) }
        return JSONResponse.make(.ok, .object(body))
    }

    func deleteWebhook(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        guard try await webhooks.remove(agency: agency) else {
            throw ProblemDetails(.notFound, title: "No webhook", detail: "\(agency) has no webhook")
        }
        return Response(status: .noContent)
    }
}
