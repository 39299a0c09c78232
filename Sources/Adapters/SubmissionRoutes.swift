import CaseModel
public import HTTPCommon
import HubStore
public import Hummingbird

/// `POST …/events` and `POST …/records`: the body, within its limit, handed
/// to the agency's submitter for the authenticated agency. A refusal is
/// answered with its problem document and reported to `refusals`, for
/// administrators.
public struct SubmissionRoutes: Sendable {
    let submitter: any AgencySubmitting
    let limits: AdapterLimits
    let refusals: any AdapterRefusalRecording

    public init(submitter: any AgencySubmitting, limits: AdapterLimits, refusals: any AdapterRefusalRecording) {
        self.submitter = submitter
        self.limits = limits
        self.refusals = refusals
    }

    public func add<Parent: RequestContext>(to group: RouterGroup<AgencyRequestContext<Parent>>) {
        group.post("events") { request, context in try await submitEvents(request, context) }
        group.post("records") { request, context in try await submitRecord(request, context) }
    }

    func submitEvents(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
        return try await recordingRefusals(of: request, by: agency) { body in
            let ids = try await submitter.submit(documents: try AgencyRequestBody.json(body), from: agency, logger: context.logger)
            return JSONResponse.make(.accepted, .object(["accepted": .array(ids.map { .string($0.description) })]))
        }
    }

    func submitRecord(_ request: Request, _ context: some IdentifiedRequestContext<AgencyID>) async throws -> Response {
        let agency = try context.requireIdentity()
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let isXML = contentType.hasPrefix("application/xml") || contentType.hasPrefix("text/xml")
        return try await recordingRefusals(of: request, by: agency) { body in
            let outcome = try await submitter.submitRecord(body, isXML: isXML, from: agency, logger: context.logger)
            return JSONResponse.make(outcome.event == nil ? .ok : .accepted, outcome.json)
        }
    }

    /// Reads the body and hands it to `submit`; a ``SubmissionError`` on the
    /// way is reported to `refusals` (with the body as read, if it was) and
    /// thrown on to be answered.
    private func recordingRefusals(of request: Request, by agency: AgencyID,
                                   _ submit: ([UInt8]) async throws -> Response) async throws -> Response {
        var body: [UInt8]?
        do {
            let bytes = try await AgencyRequestBody.bytes(request, limit: limits.maxBodyBytes)
            body = bytes
            return try await submit(bytes)
        } catch let error as SubmissionError {
            // Hashed here, not for every submission: only a refused body is described.
            let refused = body.map(RefusedBody.init(read:)) ?? RefusedBody(unreadDeclaring: AdapterRejection.declaredLength(request))
            if let rejection = AdapterRejection(error, by: agency, request: request, body: refused) { refusals.record(rejection) }
            throw error
        }
    }
}

/// Request bodies of the agency routes: whole, up to a limit. Their errors
/// are ``SubmissionError``s, answered as problems on every agency route.
enum AgencyRequestBody {
    /// The whole body, or ``SubmissionError/bodyTooLarge(limit:)`` (`413`) beyond `limit` bytes.
    static func bytes(_ request: Request, limit: Int) async throws -> [UInt8] {
        var request = request
        do {
            return Array(try await request.collectBody(upTo: limit).readableBytesView)
        } catch {
            throw SubmissionError.bodyTooLarge(limit: limit)
        }
    }

    /// The body as JSON, or ``SubmissionError/malformedJSON(reason:)`` (`400`).
    static func json(_ request: Request, limit: Int) async throws -> JSONValue {
        try json(try await bytes(request, limit: limit))
    }

    static func json(_ body: [UInt8]) throws(SubmissionError) -> JSONValue {
        do {
            return try JSONValue.parse(body)
        } catch {
            throw .malformedJSON(reason: "\(error)")
        }
    }
}
