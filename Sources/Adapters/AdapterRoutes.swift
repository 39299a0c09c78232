public import CaseModel
import Foundation
import HTTPCommon
public import HubStore
public import Hummingbird
import Logging

/// The agency-side HTTP API of the adapters, mounted once for every agency it serves:
///
/// - `POST /v1/agencies/{agency}/events` — canonical events (structured CloudEvents, one or a batch)
/// - `POST /v1/agencies/{agency}/records` — one native record of the agency's system (JSON, or XML for courts)
/// - `GET  /v1/agencies/{agency}/inbox?after=&limit=&wait=` — delivered events, oldest first, long-poll
/// - `POST /v1/agencies/{agency}/inbox/ack` — `{"cursor": N}` acknowledges everything up to N
/// - `GET  /v1/agencies/{agency}/cases/{caseId}` — the agency's view of a case it is party to
/// - `PUT|GET|DELETE /v1/agencies/{agency}/webhook` — push deliveries to the agency's URL (``WebhookPusher``); a change is audited as the agency's
///
/// Every path needs `Authorization: Bearer <token>` with a token issued to
/// that agency (`casehub agencies token ID`); another agency's token is
/// refused. ``AgencyAccess`` checks that before any handler runs; handlers
/// read the agency from the context. The two submission routes are
/// ``SubmissionRoutes``. Refused submissions and tokens used on another
/// agency's paths are reported to `refusals` (``AdapterRefusalLog``).
public struct AdapterRoutes: Sendable {
    let access: AgencyAccess
    let submission: SubmissionRoutes
    let deliveries: DeliveryStore
    let delivered: Wakeup
    let cases: CaseViews
    let webhooks: WebhookStore
    let limits: AdapterLimits

    public init(agencies: Set<AgencyID>, submitter: AgencySubmitter, deliveries: DeliveryStore, delivered: Wakeup,
                tokens: AgencyTokenStore, cases: CaseViews, webhooks: WebhookStore, refusals: any AdapterRefusalRecording,
                limits: AdapterLimits = AdapterLimits()) {
        access = AgencyAccess(agencies: agencies, tokens: tokens, limits: limits, refusals: refusals)
        submission = SubmissionRoutes(submitter: submitter, limits: limits, refusals: refusals)
        self.deliveries = deliveries
        self.delivered = delivered
        self.cases = cases
        self.webhooks = webhooks
        self.limits = limits
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        add(to: access.group(under: router.group("v1/agencies/:agency")))
    }

    /// As ``add(to:)``, with `agencyMiddleware` on every agency path, after
    /// routing and before the token check (the server's client-certificate
    /// check, which needs the server's own context).
    public func add<Middleware: RouterMiddleware>(to router: Router<Middleware.Context>, agencyMiddleware: Middleware) {
        add(to: access.group(under: router.group("v1/agencies/:agency").add(middleware: agencyMiddleware)))
    }

    private func add<Parent: RequestContext>(to group: RouterGroup<AgencyRequestContext<Parent>>) {
        submission.add(to: group)
        group.get("inbox") { request, context in try await inbox(request, context) }
        group.post("inbox/ack") { request, context in try await acknowledge(request, context) }
        group.get("cases/:caseId") { request, context in try await caseView(request, context) }
        group.put("webhook") { request, context in try await putWebhook(request, context) }
        group.get("webhook") { request, context in try await getWebhook(request, context) }
        group.delete("webhook") { request, context in try await deleteWebhook(request, context) }
    }

    // MARK: inbox

    func inbox(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
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

    func acknowledge(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
        let json = try await AgencyRequestBody.json(request, limit: limits.maxBodyBytes)
        guard case .integer(let cursor)? = json["cursor"], cursor >= 0 else {
            throw ProblemDetails(.unprocessableContent, title: "Invalid acknowledgement", detail: "the body must be {\"cursor\": N}",
                                 violations: [Violation(path: "/cursor", rule: "required", message: "a non-negative integer cursor is required")])
        }
        let count = try await deliveries.acknowledge(agency: agency, through: cursor)
        return JSONResponse.make(.ok, .object(["acknowledged": .integer(Int64(count)), "cursor": .integer(cursor)]))
    }

    // MARK: cases

    func caseView(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
        let caseID = try context.parameters.requireDecoded("caseId")
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

    /// The agency changing its own webhook, named in the audit entry with its token's id.
    static func actor(_ agency: AgencyID, _ request: Request) -> AdministrativeActor {
        .agency(agency, tokenID: BearerToken.presented(request).map(AgencyTokenStore.id(of:)))
    }

    func putWebhook(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
        let json = try await AgencyRequestBody.json(request, limit: limits.maxBodyBytes)
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
        try await webhooks.register(agency: agency, url: url, secret: secret!, by: Self.actor(agency, request))
        delivered.signal()
        var body: [String: JSONValue] = ["url": .string(url)]
        // A secret the hub made is shown once, here.
        if generated { body["secret"] = .string(secret!) }
        return JSONResponse.make(.ok, .object(body))
    }

    func getWebhook(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
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

    func deleteWebhook(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
        guard try await webhooks.remove(agency: agency, by: Self.actor(agency, request)) else {
            throw ProblemDetails(.notFound, title: "No webhook", detail: "\(agency) has no webhook")
        }
        return Response(status: .noContent)
    }
}
