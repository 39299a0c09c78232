import CaseModel
import Crypto
import Foundation
import HubStore
import Hummingbird
import Kafka
import Logging

/// The agency-side HTTP API of the adapters, mounted once for every agency it serves:
///
/// - `POST /v1/agencies/{agency}/events` — canonical events (structured CloudEvents, one or a batch)
/// - `GET  /v1/agencies/{agency}/inbox?after=&limit=&wait=` — delivered events, oldest first, long-poll
/// - `POST /v1/agencies/{agency}/inbox/ack` — `{"cursor": N}` acknowledges everything up to N
/// - `GET  /v1/agencies/{agency}/cases/{caseId}` — the agency's view of a case it is party to
///
/// Every path needs `Authorization: Bearer <token>` with a token issued to
/// that agency (`casehub agencies token ID`); another agency's token is refused.
public struct AdapterRoutes: Sendable {
    public struct Limits: Sendable {
        public var maxBodyBytes = 4 << 20
        public var maxEventsPerBatch = 500
        public var maxInboxPage = 1_000
        public var maxWaitSeconds = 30
        public init() {}
    }

    let agencies: Set<AgencyID>
    let topics: TopicNames
    let producer: KafkaProducer
    let deliveries: DeliveryStore
    let delivered: Wakeup
    let signingKeys: SigningKeys
    let tokens: AgencyTokenStore
    let submissions: SubmissionStore
    let cases: CaseViews
    let limits: Limits

    public init(agencies: Set<AgencyID>, topics: TopicNames, producer: KafkaProducer, deliveries: DeliveryStore, delivered: Wakeup,
                signingKeys: SigningKeys, tokens: AgencyTokenStore, submissions: SubmissionStore, cases: CaseViews,
                limits: Limits = Limits()) {
        self.agencies = agencies
        self.topics = topics
        self.producer = producer
        self.deliveries = deliveries
        self.delivered = delivered
        self.signingKeys = signingKeys
        self.tokens = tokens
        self.submissions = submissions
        self.cases = cases
        self.limits = limits
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group("v1/agencies/:agency")
        group.post("events") { request, context in try await submitEvents(request, context) }
        group.get("inbox") { request, context in try await inbox(request, context) }
        group.post("inbox/ack") { request, context in try await acknowledge(request, context) }
        group.get("cases/:caseId") { request, context in try await caseView(request, context) }
    }

    /// The agency of the path, once the request's bearer token is shown to be that agency's.
    private func agency(_ request: Request, _ context: some RequestContext) async throws -> AgencyID {
        let text = try context.parameters.require("agency")
        guard let id = AgencyID(rawValue: text), agencies.contains(id) else {
            throw ProblemDetails(.notFound, title: "Unknown agency", detail: "no adapter serves agency '\(text.prefix(80))' here")
        }
        var challenge = ProblemDetails(.unauthorized, title: "Unauthorized",
                                       detail: "send 'Authorization: Bearer <token>' with a token issued to \(id) (casehub agencies token \(id))")
        challenge.headers[.wwwAuthenticate] = "Bearer realm=\"casehub\""
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { throw challenge }
        let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count <= 200, let owner = try await tokens.agency(forToken: token) else {
            challenge.detail = "the bearer token is unknown or revoked"
            throw challenge
        }
        guard owner == id else {
            throw ProblemDetails(.forbidden, title: "Forbidden", detail: "this token belongs to another agency; it works only on that agency's paths")
        }
        return id
    }

    private func readJSON(_ request: Request) async throws -> JSONValue {
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: limits.maxBodyBytes)
        } catch {
            throw ProblemDetails(.contentTooLarge, title: "Body too large", detail: "the body exceeds \(limits.maxBodyBytes) bytes")
        }
        do {
            return try JSONValue.parse(body.readableBytesView)
        } catch {
            throw ProblemDetails(.badRequest, title: "Malformed JSON", detail: "\(error)")
        }
    }

    // MARK: POST events

    func submitEvents(_ request: Request, _ context: some RequestContext) async throws -> Response {
        let agency = try await agency(request, context)
        let json = try await readJSON(request)
        let isBatch: Bool
        let documents: [JSONValue]
        if case .array(let items) = json {
            isBatch = true
            documents = items
        } else {
            isBatch = false
            documents = [json]
        }
        guard !documents.isEmpty else {
            throw ProblemDetails(.unprocessableContent, title: "Empty batch", detail: "the batch holds no events")
        }
        guard documents.count <= limits.maxEventsPerBatch else {
            throw ProblemDetails(.contentTooLarge, title: "Batch too large", detail: "at most \(limits.maxEventsPerBatch) events per batch")
        }
        var events: [CloudEvent] = []
        var violations: [Violation] = []
        for (index, document) in documents.enumerated() {
            let prefix = isBatch ? "/\(index)" : ""
            do {
                let event = try CloudEvent(structured: document)
                if event.source != agency.rawValue {
                    violations.append(Violation(path: prefix + "/source", rule: "sender",
                                                        message: "source must be '\(agency)', the agency of this path"))
                }
                violations += EventCatalogue.standard.validate(data: event.data, of: event.type).map {
                    Violation(path: prefix + $0.path, rule: $0.rule, message: $0.message)
                }
                events.append(event)
            } catch {
                violations += error.violations.map { Violation(path: prefix + $0.path, rule: $0.rule, message: $0.message) }
            }
        }
        guard violations.isEmpty else {
            throw ProblemDetails(.unprocessableContent, title: "Invalid event",
                                 detail: "\(violations.count) rule(s) broken; nothing was submitted", violations: violations)
        }
        // An id is the agency's promise about content: the same content again
        // is a harmless retry, other content a conflict (nothing is published).
        let claims = try await submissions.claim(agency: agency, events.map {
            (eventID: UUID(uuidString: $0.id)!, contentHash: Array(SHA256.hash(data: $0.structured.canonicalBytes)))
        })
        let conflicts = zip(events, claims).enumerated().filter { $0.element.1 == .conflicting }
        guard conflicts.isEmpty else {
            throw ProblemDetails(.conflict, title: "Event id reused",
                                 detail: "\(conflicts.count) event id(s) were already submitted with different content; nothing was submitted",
                                 violations: conflicts.map { index, pair in
                                     Violation(path: (isBatch ? "/\(index)" : "") + "/id", rule: "unique",
                                               message: "id \(pair.0.id) was already used for other content")
                                 })
        }
        // The adapter vouches for its agency: every event leaves signed with the agency's key.
        let messages = try events.map { try signingKeys.sign($0) }.map { event in
            KafkaOutgoingMessage(
                topic: topics.from(agency), key: event.subject, value: event.binaryValue,
                headers: event.binaryHeaders.map { KafkaHeader(key: $0.0, string: $0.1) })
        }
        let results = try await producer.sendBatch(messages)
        let failures = results.compactMap { result -> KafkaError? in
            if case .failure(let error) = result { return error }
            return nil
        }
        if let failure = failures.first {
            context.logger.error("publishing to the hub failed", metadata: ["casehub.agency": "\(agency)", "error": "\(failure)"])
            throw ProblemDetails(.serviceUnavailable, title: "Hub unavailable",
                                 detail: "\(failures.count) of \(events.count) event(s) could not be handed to the hub; submit them again (ids make this safe)")
        }
        return JSONResponse.make(.accepted, .object([
            "accepted": .array(events.map { .string($0.id) }),
        ]))
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
}
