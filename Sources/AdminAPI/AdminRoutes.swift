import CaseModel
import Foundation
import HTTPCommon
import HubStore
import Hummingbird
import Postgres

/// The administrators' read API, served by the hub:
///
/// - `GET /v1/cases?procedure=&status=&agency=&overdue=&number=&since=&until=&limit=&offset=`
/// - `GET /v1/cases/{id}` — state, parties and roles, every agency's number, links, deadlines
/// - `GET /v1/cases/{id}/events` — its audit trail and whether its chain is intact
/// - `GET /v1/deadlines?state=warning|overdue&agency=&procedure=&asOf=` — as of an instant (default now)
/// - `GET /v1/rejections?agency=&code=&limit=&offset=`
///
/// Every path needs an administrator's bearer token (`casehub admin token`).
public struct AdminRoutes: Sendable {
    let queries: AdminQueries
    let verifier: AuditVerifier
    let tokens: AgencyTokenStore

    public init(database: PostgresClient) {
        queries = AdminQueries(client: database)
        verifier = AuditVerifier(client: database)
        tokens = AgencyTokenStore(client: database)
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group("v1")
        group.get("cases") { request, _ in try await listCases(request) }
        group.get("cases/:id") { request, context in try await showCase(request, context) }
        group.get("cases/:id/events") { request, context in try await caseEvents(request, context) }
        group.get("deadlines") { request, _ in try await deadlines(request) }
        group.get("rejections") { request, _ in try await rejections(request) }
    }

    /// Administrators only: an agency's token is refused here.
    private func authorize(_ request: Request) async throws {
        var challenge = ProblemDetails(.unauthorized, title: "Unauthorized",
                                       detail: "send 'Authorization: Bearer <token>' with an administrator's token (casehub admin token)")
        challenge.headers[.wwwAuthenticate] = "Bearer realm=\"casehub-admin\""
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { throw challenge }
        let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count <= 200, let owner = try await tokens.agency(forToken: token) else {
            challenge.detail = "the bearer token is unknown or revoked"
            throw challenge
        }
        guard owner == AgencyTokenStore.administrators else {
            throw ProblemDetails(.forbidden, title: "Forbidden", detail: "an agency's token does not open the administrators' API")
        }
    }

    // MARK: query parameters

    struct Parameters {
        let query: [String: String]
        var violations: [Violation] = []

        init(_ request: Request) {
            var values: [String: String] = [:]
            for (name, value) in request.uri.queryParameters { values[String(name)] = String(value) }
            query = values
        }

        func text(_ name: String) -> String? {
            guard let value = query[name], !value.isEmpty else { return nil }
            return String(value.prefix(200))
        }

        mutating func integer(_ name: String, default value: Int, range: ClosedRange<Int>) -> Int {
            guard let text = text(name) else { return value }
            guard let number = Int(text), range.contains(number) else {
                violations.append(Violation(path: "?\(name)", rule: "range", message: "an integer from \(range.lowerBound) to \(range.upperBound)"))
                return value
            }
            return number
        }

        mutating func instant(_ name: String) -> Date? {
            guard let text = text(name) else { return nil }
            guard let date = RFC3339.parse(text) else {
                violations.append(Violation(path: "?\(name)", rule: "format", message: "an RFC 3339 date-time, e.g. 2026-11-29T10:00:00+08:00"))
                return nil
            }
            return date
        }

        mutating func flag(_ name: String) -> Bool? {
            guard let text = text(name) else { return nil }
            switch text {
            case "true": return true
            case "false": return false
            default:
                violations.append(Violation(path: "?\(name)", rule: "enum", message: "true or false"))
                return nil
            }
        }

        func validated() throws {
            guard violations.isEmpty else {
                throw ProblemDetails(.badRequest, title: "Invalid parameter", detail: "\(violations.count) parameter(s) invalid", violations: violations)
            }
        }
    }

    // MARK: routes

    func listCases(_ request: Request) async throws -> Response {
        try await authorize(request)
        var parameters = Parameters(request)
        var filter = AdminQueries.CaseFilter()
        filter.procedure = parameters.text("procedure")
        filter.status = parameters.text("state") ?? parameters.text("status")
        filter.agency = parameters.text("agency")
        filter.number = parameters.text("number")
        filter.overdue = parameters.flag("overdue")
        filter.updatedSince = parameters.instant("since")
        filter.updatedUntil = parameters.instant("until")
        filter.limit = parameters.integer("limit", default: 50, range: 1...500)
        filter.offset = parameters.integer("offset", default: 0, range: 0...1_000_000)
        try parameters.validated()
        let page = try await queries.cases(filter)
        var body: [String: JSONValue] = ["cases": page]
        // A full page may have more behind it.
        if page.arrayValue?.count == filter.limit { body["nextOffset"] = .integer(Int64(filter.offset + filter.limit)) }
        return JSONResponse.make(.ok, .object(body))
    }

    func showCase(_ request: Request, _ context: some RequestContext) async throws -> Response {
        try await authorize(request)
        let id = try context.parameters.require("id")
        guard id.utf8.count <= 256, !id.unicodeScalars.contains("\u{0}"), let detail = try await queries.caseDetail(id) else {
            throw ProblemDetails(.notFound, title: "Case not found", detail: "no case '\(id.prefix(128))'")
        }
        return JSONResponse.make(.ok, detail)
    }

    func caseEvents(_ request: Request, _ context: some RequestContext) async throws -> Response {
        try await authorize(request)
        let id = try context.parameters.require("id")
        guard id.utf8.count <= 256, !id.unicodeScalars.contains("\u{0}"), try await queries.caseDetail(id) != nil else {
            throw ProblemDetails(.notFound, title: "Case not found", detail: "no case '\(id.prefix(128))'")
        }
        let events = try await queries.caseEvents(id)
        let report = try await verifier.verifyCase(id)
        return JSONResponse.make(.ok, .object([
            "caseId": .string(id),
            "events": events,
            "chain": .object([
                "intact": .bool(report.isIntact),
                "checked": .integer(Int64(report.checked)),
                "breaks": .array(report.breaks.map { .string($0.description) }),
            ]),
        ]))
    }

    func deadlines(_ request: Request) async throws -> Response {
        try await authorize(request)
        var parameters = Parameters(request)
        var stage: AdminQueries.DeadlineStage?
        if let text = parameters.text("state") {
            stage = AdminQueries.DeadlineStage(rawValue: text)
            if stage == nil { parameters.violations.append(Violation(path: "?state", rule: "enum", message: "warning or overdue")) }
        }
        let asOf = parameters.instant("asOf") ?? Date()
        try parameters.validated()
        let items = try await queries.deadlines(stage: stage, agency: parameters.text("agency"), procedure: parameters.text("procedure"), asOf: asOf)
        return JSONResponse.make(.ok, .object(["asOf": .string(RFC3339.format(asOf)), "deadlines": items]))
    }

    func rejections(_ request: Request) async throws -> Response {
        try await authorize(request)
        var parameters = Parameters(request)
        let limit = parameters.integer("limit", default: 50, range: 1...500)
        let offset = parameters.integer("offset", default: 0, range: 0...1_000_000)
        try parameters.validated()
        let page = try await queries.rejections(agency: parameters.text("agency"), code: parameters.text("code"), limit: limit, offset: offset)
        var body: [String: JSONValue] = ["rejections": page]
        if page.arrayValue?.count == limit { body["nextOffset"] = .integer(Int64(offset + limit)) }
        return JSONResponse.make(.ok, .object(body))
    }
}
