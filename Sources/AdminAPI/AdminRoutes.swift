public import CaseModel
import Foundation
import HTTPCommon
public import HubStore
public import Hummingbird

/// The administrators' read API, served by the hub:
///
/// - `GET /v1/cases?procedure=&status=&agency=&overdue=&number=&since=&until=&limit=&offset=`
/// - `GET /v1/cases/{id}` — state, parties and roles, every agency's number, links, deadlines
/// - `GET /v1/cases/{id}/events` — its audit trail and whether its chain is intact
/// - `GET /v1/deadlines?state=warning|overdue&agency=&procedure=&asOf=` — as of an instant (default now)
/// - `GET /v1/rejections?stage=hub|adapter&agency=&code=&limit=&offset=` — the hub's refusals and the adapters'
/// - `POST /v1/rejections/{id}/replay` `{"reason": "…"}` — a hub-refused event through the hub again (audited, idempotent)
/// - `GET /v1/flows?since=&until=&bucket=SECONDS` — deliveries sender → receiver per type and bucket, latency p50/p99; refusals
/// - `GET /v1/lag` — per topic and partition, how far the hub's and the adapters' consumer groups are behind
/// - `GET /v1/agencies` — the registered agencies with their tokens, keys and traffic
/// - `GET /v1/overview` — outbox backlog, deadlines by stage, cases by status, refusals
/// - `GET /v1/outbox/parked` — records the relay could not publish, and those of their cases waiting behind them
/// - `POST /v1/outbox/parked/{shard}/{seq}/retry|discard` `{"reason": "…"}` — send it again, or drop it so the rest go (audited)
///
/// Every path needs an administrator's bearer token (`casehub admin token`):
/// ``AdministratorAuthenticationMiddleware`` checks it before any handler runs.
public struct AdminRoutes: Sendable {
    let queries: AdminQueries
    let verifier: AuditVerifier
    let tokens: AgencyTokenStore
    let store: HubStore
    let lag: ConsumerLag
    let lagGroups: [String]
    let registry: AgencyRegistry
    /// The agencies whose adapters this process serves.
    let servedAdapters: Set<AgencyID>

    /// `tokens` admits administrators; `store` replays rejections; `lag` reads
    /// `lagGroups`, the consumer groups `/v1/lag` reports (the hub's, the adapters').
    public init(queries: AdminQueries, verifier: AuditVerifier, tokens: AgencyTokenStore, store: HubStore, lag: ConsumerLag,
                lagGroups: [String], registry: AgencyRegistry, servedAdapters: Set<AgencyID>) {
        self.queries = queries
        self.verifier = verifier
        self.tokens = tokens
        self.store = store
        self.lag = lag
        self.lagGroups = lagGroups
        self.registry = registry
        self.servedAdapters = servedAdapters
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        let group = router.administratorGroup("v1", tokens: tokens)
        group.get("cases") { request, _ in try await listCases(request) }
        group.get("cases/:id") { request, context in try await showCase(request, context) }
        group.get("cases/:id/events") { request, context in try await caseEvents(request, context) }
        group.get("deadlines") { request, _ in try await deadlines(request) }
        group.get("rejections") { request, _ in try await rejections(request) }
        group.post("rejections/:id/replay") { request, context in try await replayRejection(request, context) }
        group.get("flows") { request, _ in try await flows(request) }
        group.get("lag") { _, _ in try await consumerLag() }
        group.get("agencies") { _, _ in try await agencies() }
        group.get("overview") { _, _ in JSONResponse.make(.ok, AdminJSON.overview(try await queries.overview())) }
        group.get("outbox/parked") { _, _ in
            JSONResponse.make(.ok, .object(["parked": AdminJSON.parkedRecords(try await store.parkedOutboxRecords())]))
        }
        group.post("outbox/parked/:shard/:seq/retry") { request, context in try await resolveParked(.retry, request, context) }
        group.post("outbox/parked/:shard/:seq/discard") { request, context in try await resolveParked(.discard, request, context) }
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
        let page = try await queries.casePage(filter)
        var body: [String: JSONValue] = ["cases": .array(page.map(AdminJSON.caseSummary))]
        // A full page may have more behind it.
        if page.count == filter.limit { body["nextOffset"] = .integer(Int64(filter.offset + filter.limit)) }
        return JSONResponse.make(.ok, .object(body))
    }

    func showCase(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let id = try context.parameters.requireDecoded("id")
        guard id.utf8.count <= 256, !id.unicodeScalars.contains("\u{0}"), let record = try await queries.caseRecord(id) else {
            throw ProblemDetails(.notFound, title: "Case not found", detail: "no case '\(id.prefix(128))'")
        }
        return JSONResponse.make(.ok, AdminJSON.caseRecord(record))
    }

    func caseEvents(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let id = try context.parameters.requireDecoded("id")
        guard id.utf8.count <= 256, !id.unicodeScalars.contains("\u{0}"), try await queries.caseExists(id) else {
            throw ProblemDetails(.notFound, title: "Case not found", detail: "no case '\(id.prefix(128))'")
        }
        // The listing and the chain check read the same rows; at once, not one after the other.
        async let events = queries.auditTrail(id)
        async let chain = verifier.verifyCase(id)
        let report = try await chain
        return JSONResponse.make(.ok, .object([
            "caseId": .string(id),
            "events": AdminJSON.auditTrail(try await events),
            "chain": .object([
                "intact": .bool(report.isIntact),
                "checked": .integer(Int64(report.checked)),
                "breaks": .array(report.breaks.map { .string($0.description) }),
            ]),
        ]))
    }

    func deadlines(_ request: Request) async throws -> Response {
        var parameters = Parameters(request)
        var stage: AdminQueries.DeadlineStage?
        if let text = parameters.text("state") {
            stage = AdminQueries.DeadlineStage(rawValue: text)
            if stage == nil { parameters.violations.append(Violation(path: "?state", rule: "enum", message: "warning or overdue")) }
        }
        let asOf = parameters.instant("asOf") ?? Date()
        try parameters.validated()
        let items = try await queries.dueDeadlines(stage: stage, agency: parameters.text("agency"), procedure: parameters.text("procedure"), asOf: asOf)
        return JSONResponse.make(.ok, .object(["asOf": .string(RFC3339.format(asOf)), "deadlines": AdminJSON.dueDeadlines(items)]))
    }

    func rejections(_ request: Request) async throws -> Response {
        var parameters = Parameters(request)
        var filter = AdminQueries.RejectionFilter()
        filter.agency = parameters.text("agency")
        filter.code = parameters.text("code")
        if let text = parameters.text("stage") {
            filter.stage = RejectionStage(rawValue: text)
            if filter.stage == nil { parameters.violations.append(Violation(path: "?stage", rule: "enum", message: "hub or adapter")) }
        }
        filter.limit = parameters.integer("limit", default: 50, range: 1...500)
        filter.offset = parameters.integer("offset", default: 0, range: 0...1_000_000)
        try parameters.validated()
        let page = try await queries.rejectionPage(filter)
        var body: [String: JSONValue] = ["rejections": AdminJSON.rejections(page)]
        if page.count == filter.limit { body["nextOffset"] = .integer(Int64(filter.offset + filter.limit)) }
        return JSONResponse.make(.ok, .object(body))
    }

    func flows(_ request: Request) async throws -> Response {
        var parameters = Parameters(request)
        let until = parameters.instant("until") ?? Date()
        let since = parameters.instant("since") ?? until.addingTimeInterval(-3600)
        let bucket = parameters.integer("bucket", default: 60, range: 1...86_400)
        if since >= until { parameters.violations.append(Violation(path: "?since", rule: "range", message: "since must be before until")) }
        // At most 10,000 buckets per answer.
        if until.timeIntervalSince(since) / Double(bucket) > 10_000 {
            parameters.violations.append(Violation(path: "?bucket", rule: "range", message: "at most 10,000 buckets: widen the bucket or narrow the window"))
        }
        try parameters.validated()
        let deliveries = try await queries.deliveryFlows(since: since, until: until, bucketSeconds: bucket)
        let refusals = try await queries.refusalFlows(since: since, until: until, bucketSeconds: bucket)
        return JSONResponse.make(.ok, .object([
            "since": .string(RFC3339.format(since)), "until": .string(RFC3339.format(until)), "bucketSeconds": .integer(Int64(bucket)),
            "deliveries": AdminJSON.deliveryFlows(deliveries), "refusals": AdminJSON.refusalFlows(refusals),
        ]))
    }

    func consumerLag() async throws -> Response {
        let entries: [ConsumerLag.Entry]
        do {
            entries = try await lag.read(groups: lagGroups)
        } catch {
            throw ProblemDetails(.serviceUnavailable, title: "Broker unavailable", detail: "consumer offsets could not be read: \(error)")
        }
        return JSONResponse.make(.ok, .object([
            "partitions": .array(entries.map { entry in
                .object(["group": .string(entry.group), "topic": .string(entry.topic), "partition": .integer(Int64(entry.partition)),
                         "committed": .integer(entry.committed), "high": .integer(entry.high), "lag": .integer(entry.lag)])
            }),
            "total": .object(Dictionary(grouping: entries, by: \.group).mapValues { .integer($0.reduce(0) { $0 + $1.lag }) }),
        ]))
    }

    func agencies() async throws -> Response {
        let activity = try await queries.activityByAgency()
        return JSONResponse.make(.ok, .object(["agencies": AgencyListing.json(registry: registry, activity: activity, served: servedAdapters)]))
    }

    func replayRejection(_ request: Request, _ context: some IdentifiedRequestContext<Administrator>) async throws -> Response {
        let administrator = try context.requireIdentity()
        guard let id = Int64(try context.parameters.require("id")) else {
            throw ProblemDetails(.notFound, title: "Rejection not found", detail: "rejection ids are integers")
        }
        let reason = try await Self.auditedReason(request, for: "a replay")
        switch try await store.replayRejection(id: id, reason: reason, by: administrator.name, tokenID: administrator.tokenID, at: Date()) {
        case .replayed(let at):
            return JSONResponse.make(.accepted, .object(["rejectionId": .integer(id), "state": "replayed", "replayedAt": .string(RFC3339.format(at))]))
        case .alreadyReplayed(let at):
            return JSONResponse.make(.ok, .object(["rejectionId": .integer(id), "state": "already-replayed", "replayedAt": .string(RFC3339.format(at))]))
        case .notFound:
            throw ProblemDetails(.notFound, title: "Rejection not found", detail: "no rejection \(id)")
        case .notReplayable(let why):
            throw ProblemDetails(.conflict, title: "Not replayable", detail: why)
        }
    }

    func resolveParked(_ action: HubStore.ParkedAction, _ request: Request, _ context: some IdentifiedRequestContext<Administrator>) async throws -> Response {
        let administrator = try context.requireIdentity()
        let named = "\(try context.parameters.require("shard"))/\(try context.parameters.require("seq"))"
        guard let position = HubStore.OutboxPosition(named) else {
            throw ProblemDetails(.notFound, title: "Parked record not found", detail: "a parked record is named shard/position, both integers")
        }
        let reason = try await Self.auditedReason(request, for: action == .retry ? "a retry" : "a discard")
        switch try await store.resolveParked(position, action, reason: reason, by: administrator.name, tokenID: administrator.tokenID, at: Date()) {
        case .done:
            return JSONResponse.make(.accepted, .object([
                "record": .string(position.description), "state": .string(action == .retry ? "released" : "discarded"),
            ]))
        case .notFound:
            throw ProblemDetails(.notFound, title: "Parked record not found", detail: "no parked record \(position)")
        case .waitsBehind(let first):
            throw ProblemDetails(.conflict, title: "Waits behind another record",
                                 detail: "\(position) waits behind parked record \(first) of the same case: retry or discard that one")
        case .alreadyResolved(let resolution):
            throw ProblemDetails(.conflict, title: "Already resolved", detail: "\(position) was \(resolution) already")
        case .alreadyReleased:
            throw ProblemDetails(.conflict, title: "Already released", detail: "\(position) is being sent again; look again in a moment")
        }
    }

    /// The `{"reason": "…"}` body every audited administrator action needs.
    static func auditedReason(_ request: Request, for action: String) async throws -> String {
        var request = request
        let body: JSONValue
        do {
            body = try JSONValue.parse(Array(try await request.collectBody(upTo: 64 << 10).readableBytesView))
        } catch {
            throw ProblemDetails(.badRequest, title: "Malformed JSON", detail: "the body must be {\"reason\": \"…\"}")
        }
        guard let reason = body["reason"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), (1...1_000).contains(reason.count) else {
            throw ProblemDetails(.unprocessableContent, title: "Reason required", detail: "\(action) is audited: say why (1 to 1,000 characters)",
                                 violations: [Violation(path: "/reason", rule: "required", message: "1 to 1,000 characters")])
        }
        return reason
    }
}
