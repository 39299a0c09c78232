public import CaseModel
public import Hummingbird
import Logging

/// RFC 9457 problem details, the body of every error answer of the HTTP APIs.
///
/// A route throws one and Hummingbird renders it (``HTTPResponseError``):
/// `application/problem+json` with the status, the headers the problem
/// carries (`WWW-Authenticate`, `Retry-After`) and the body ``json``.
public struct ProblemDetails: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// A short, stable summary of the problem type.
    public var title: String
    /// What went wrong in this request, for the agency's developer.
    public var detail: String
    /// One entry per broken rule, each naming the field path.
    public var violations: [Violation]
    /// Headers the answer must carry (e.g. `WWW-Authenticate` with a 401).
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, title: String, detail: String, violations: [Violation] = []) {
        self.status = status
        self.title = title
        self.detail = detail
        self.violations = violations
    }

    /// The body: RFC 9457 members plus `violations`.
    public var json: JSONValue {
        var body: [String: JSONValue] = [
            "type": .string("about:blank"),
            "title": .string(title),
            "status": .integer(Int64(status.code)),
            "detail": .string(detail),
        ]
        if !violations.isEmpty {
            body["violations"] = .array(violations.map {
                .object(["path": .string($0.path), "rule": .string($0.rule), "message": .string($0.message)])
            })
        }
        return .object(body)
    }

    /// The answer: status, `Content-Type: application/problem+json`, the problem's headers, ``json``.
    public var response: Response {
        var response = JSONResponse.make(status, json, contentType: "application/problem+json")
        response.headers.append(contentsOf: headers)
        return response
    }

    /// ``HTTPResponseError``: how Hummingbird renders a thrown problem.
    public func response(from request: Request, context: some RequestContext) -> Response {
        response
    }
}

public enum JSONResponse {
    public static func make(_ status: HTTPResponse.Status, _ body: JSONValue, contentType: String = "application/json") -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.canonicalBytes)))
    }
}

/// Makes every error a problem: Hummingbird's own ``HTTPError``s (no route,
/// a missing path parameter) become the problem with their status, any other
/// error a 500 problem that reveals nothing internal (the error is logged).
/// It renders nothing itself: it throws the problem on, and Hummingbird's
/// router answers with it, so middleware outside it (request metrics) still
/// sees the error and its status.
public struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as ProblemDetails {
            throw problem
        } catch let error as HTTPError {
            throw ProblemDetails(error.status, title: error.status.reasonPhrase, detail: error.body ?? error.status.reasonPhrase)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(error)"])
            throw ProblemDetails(.internalServerError, title: "Internal Server Error", detail: "the request could not be completed")
        }
    }
}
