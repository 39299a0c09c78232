import CaseModel
public import HTTPCommon
public import Hummingbird

/// `POST …/events` and `POST …/records`: the body, within its limit, handed
/// to the agency's submitter for the authenticated agency.
public struct SubmissionRoutes: Sendable {
    let submitter: any AgencySubmitting
    let limits: AdapterLimits

    public init(submitter: any AgencySubmitting, limits: AdapterLimits) {
        self.submitter = submitter
        self.limits = limits
    }

    public func add<Parent: RequestContext>(to group: RouterGroup<AgencyRequestContext<Parent>>) {
        group.post("events") { request, context in try await submitEvents(request, context) }
        group.post("records") { request, context in try await submitRecord(request, context) }
    }

    func submitEvents(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
        let json = try await AgencyRequestBody.json(request, limit: limits.maxBodyBytes)
        let ids = try await submitter.submit(documents: json, from: agency, logger: context.logger)
        return JSONResponse.make(.accepted, .object(["accepted": .array(ids.map { .string($0.description) })]))
    }

    func submitRecord(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
        let body = try await AgencyRequestBody.bytes(request, limit: limits.maxBodyBytes)
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let isXML = contentType.hasPrefix("application/xml") || contentType.hasPrefix("text/xml")
        let outcome = try await submitter.submitRecord(body, isXML: isXML, from: agency, logger: context.logger)
        return JSONResponse.make(outcome.event == nil ? .ok : .accepted, outcome.json)
    }
}

/// Request bodies of the agency routes: whole, up to a limit.
enum AgencyRequestBody {
    /// The whole body, or `413` beyond `limit` bytes.
    static func bytes(_ request: Request, limit: Int) async throws -> [UInt8] {
        var request = request
        do {
            return Array(try await request.collectBody(upTo: limit).readableBytesView)
        } catch {
            throw ProblemDetails(.contentTooLarge, title: "Body too large", detail: "the body exceeds \(limit) bytes")
        }
    }

    /// The body as JSON, or `400`.
    static func json(_ request: Request, limit: Int) async throws -> JSONValue {
        let body = try await bytes(request, limit: limit)
        do {
            return try JSONValue.parse(body)
        } catch {
            throw ProblemDetails(.badRequest, title: "Malformed JSON", detail: "\(error)")
        }
    }
}
