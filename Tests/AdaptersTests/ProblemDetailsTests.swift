import CaseModel
import HTTPCommon
import Hummingbird
import HummingbirdTesting
import Synchronization
import Testing

/// A thrown ``ProblemDetails`` is rendered by Hummingbird itself
/// (``HTTPResponseError``); ``ProblemMiddleware`` turns every other error
/// into a problem and renders nothing.
struct ProblemDetailsTests {
    static var challenge: ProblemDetails {
        var problem = ProblemDetails(.unauthorized, title: "Unauthorized", detail: "who are you?",
                                     violations: [Violation(path: "/a/0", rule: "required", message: "needed")])
        problem.headers[.wwwAuthenticate] = #"Bearer realm="test""#
        problem.headers[.retryAfter] = "3"
        return problem
    }

    @Test func aThrownProblemIsRenderedByHummingbird() async throws {
        // No ProblemMiddleware: Hummingbird's router renders the HTTPResponseError.
        let router = Router(context: BasicRequestContext.self)
        router.get("challenge") { _, _ -> String in throw Self.challenge }
        router.get("plain") { _, _ -> String in throw ProblemDetails(.conflict, title: "Conflict", detail: "no") }
        try await Application(router: router).test(.router) { client in
            let response = try await client.call(.get, "/challenge")
            #expect(response.status == .unauthorized)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="test""#)
            #expect(response.headers[.retryAfter] == "3")
            #expect(response.text == """
                {"detail":"who are you?","status":401,"title":"Unauthorized","type":"about:blank",\
                "violations":[{"message":"needed","path":"/a/0","rule":"required"}]}
                """)
            // No violations: no member.
            let plain = try await client.call(.get, "/plain")
            #expect(plain.status == .conflict)
            #expect(plain.text == #"{"detail":"no","status":409,"title":"Conflict","type":"about:blank"}"#)
        }
    }

    @Test func theRenderingIsTheProblemsOwnResponse() {
        let problem = Self.challenge
        #expect(problem.status == .unauthorized)
        let response = problem.response
        #expect(response.status == .unauthorized)
        #expect(response.headers[.contentType] == "application/problem+json")
        #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="test""#)
    }

    /// Stands for the request-metrics middleware: outside ProblemMiddleware, it
    /// must still see each failure as an error with its status.
    final class SeenStatuses: Sendable {
        let statuses = Mutex<[Int]>([])
    }

    struct StatusRecorder: RouterMiddleware {
        typealias Context = BasicRequestContext
        let seen: SeenStatuses
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            do {
                return try await next(request, context)
            } catch {
                seen.statuses.withLock { $0.append(Int((error as? any HTTPResponseError)?.status.code ?? 0)) }
                throw error
            }
        }
    }

    @Test func everyOtherErrorBecomesAProblem() async throws {
        let seen = SeenStatuses()
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: StatusRecorder(seen: seen))
        router.add(middleware: ProblemMiddleware())
        router.get("internal") { _, _ -> String in throw SomeInternalFailure() }
        router.get("http-error") { _, _ -> String in throw HTTPError(.badRequest, message: "bad parameter") }
        router.get("param/:id") { _, context -> String in try context.parameters.require("id", as: Int.self).description }
        router.get("problem") { _, _ -> String in throw Self.challenge }
        try await Application(router: router).test(.router) { client in
            let failure = try await client.call(.get, "/internal")
            #expect(failure.status == .internalServerError)
            #expect(failure.headers[.contentType] == "application/problem+json")
            #expect(failure.text == #"{"detail":"the request could not be completed","status":500,"title":"Internal Server Error","type":"about:blank"}"#)
            #expect(!failure.text.contains("hunter2"))

            let httpError = try await client.call(.get, "/http-error")
            #expect(httpError.status == .badRequest)
            #expect(httpError.text == #"{"detail":"bad parameter","status":400,"title":"Bad Request","type":"about:blank"}"#)

            let parameter = try await client.call(.get, "/param/abc")
            #expect(parameter.status == .badRequest)
            #expect(parameter.headers[.contentType] == "application/problem+json")

            // No route: Hummingbird's 404, as a problem.
            let missing = try await client.call(.get, "/nowhere")
            #expect(missing.status == .notFound)
            #expect(missing.text == #"{"detail":"Not Found","status":404,"title":"Not Found","type":"about:blank"}"#)

            // A problem passes through unchanged, headers and all.
            let problem = try await client.call(.get, "/problem")
            #expect(problem.status == .unauthorized)
            #expect(problem.headers[.wwwAuthenticate] == #"Bearer realm="test""#)
        }
        #expect(seen.statuses.withLock { $0 } == [500, 400, 400, 404, 401])
    }
}
