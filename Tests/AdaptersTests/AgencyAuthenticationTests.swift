import Adapters
import CaseModel
import HTTPCommon
import Hummingbird
import HummingbirdTesting
import Testing

/// Who may call an agency path: the path's agency must be served here, the
/// bearer token must be that agency's; the handler then sees the agency.
struct AgencyAuthenticationTests {
    @Test func theRightTokenPassesAndTheHandlerSeesTheAgency() async throws {
        let submitter = RecordingSubmitter()
        try await withAgencyRoutes(submitter: submitter) { client in
            let epb = try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: "token-epb")
            #expect(epb.status == .ok)
            #expect(epb.text == "zz-epb")
            let court = try await client.call(.get, "/v1/agencies/zz-court/whoami", token: "token-court")
            #expect(court.text == "zz-court")
            // `bearer` in any case, spaces around the token.
            let lower = try await client.call(.get, "/v1/agencies/zz-epb/whoami", headers: [.authorization: "bearer   token-epb "])
            #expect(lower.status == .ok)

            // A submission is made for the authenticated agency.
            let accepted = try await client.call(.post, "/v1/agencies/zz-court/events", token: "token-court", body: #"{"id": "x"}"#)
            #expect(accepted.status == .accepted)
        }
        #expect(submitter.calls.map(\.agency) == ["zz-court"])
    }

    @Test func noTokenIs401WithAChallenge() async throws {
        try await withAgencyRoutes { client in
            for headers: HTTPFields in [[:], [.authorization: "Basic dXNlcjpwYXNz"], [.authorization: "Bearer"]] {
                let response = try await client.call(.get, "/v1/agencies/zz-epb/whoami", headers: headers)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="casehub""#)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.json?["title"] == "Unauthorized")
                #expect(response.json?["detail"] == "send 'Authorization: Bearer <token>' with a token issued to zz-epb (casehub agencies token zz-epb)")
            }
        }
    }

    @Test func anUnknownOrOversizedTokenIs401() async throws {
        try await withAgencyRoutes { client in
            for token in ["token-nobody", String(repeating: "t", count: 201), "   "] {
                let response = try await client.call(.get, "/v1/agencies/zz-epb/whoami", headers: [.authorization: "Bearer \(token)"])
                #expect(response.status == .unauthorized, "\(token.prefix(20))")
                #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="casehub""#)
                #expect(response.json?["detail"] == "the bearer token is unknown or revoked" || token == "   ")
            }
        }
    }

    @Test func anotherPrincipalsTokenIs403() async throws {
        try await withAgencyRoutes { client in
            // Another served agency's, an administrator's, an unserved agency's.
            for token in ["token-court", "token-admin", "token-psb"] {
                let response = try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: token)
                #expect(response.status == .forbidden, "\(token)")
                #expect(response.headers[.wwwAuthenticate] == nil)
                #expect(response.json?["title"] == "Forbidden")
                #expect(response.json?["detail"] == "this token belongs to another agency; it works only on that agency's paths")
            }
            // On every route, submissions included.
            let events = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-court", body: "[]")
            #expect(events.status == .forbidden)
        }
    }

    @Test func anAgencyNotServedHereIs404BeforeAnyToken() async throws {
        let tokens = TokenTable.standard
        try await withAgencyRoutes(tokens: tokens) { client in
            // Registered elsewhere, never heard of, not even a valid id: alike, with or without a token.
            for agency in ["zz-psb", "zz-nowhere", "ZZ_EPB"] {
                for token in [nil, "token-psb", "token-epb"] {
                    let response = try await client.call(.get, "/v1/agencies/\(agency)/whoami", token: token)
                    #expect(response.status == .notFound, "\(agency) \(token ?? "-")")
                    #expect(response.json?["title"] == "Unknown agency")
                    #expect(response.json?["detail"] == .string("no adapter serves agency '\(agency)' here"))
                }
            }
        }
        // The path was refused before any token was looked up.
        #expect(tokens.lookups.isEmpty)
    }

    @Test func theServersAgencyMiddlewareRunsBeforeTheTokenCheck() async throws {
        // As the client-certificate check sits in the server: certificate first, then token.
        struct CertificateStandIn: RouterMiddleware {
            typealias Context = BasicRequestContext
            func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
                guard request.headers[HTTPFields.Element.Name("X-Test-Certificate")!] == context.parameters.get("agency") else {
                    throw ProblemDetails(.forbidden, title: "Client certificate required", detail: "stand-in")
                }
                return try await next(request, context)
            }
        }
        let tokens = TokenTable.standard
        try await withAgencyRoutes(tokens: tokens, agencyMiddleware: CertificateStandIn()) { client in
            let certificate = HTTPFields.Element.Name("X-Test-Certificate")!
            // No certificate: refused even with the right token, and even without one.
            for token in [nil, "token-epb"] {
                let response = try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: token)
                #expect(response.status == .forbidden)
                #expect(response.json?["title"] == "Client certificate required")
            }
            // Another agency's certificate with the right token: refused.
            let other = try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: "token-epb", headers: [certificate: "zz-court"])
            #expect(other.status == .forbidden)
            // The certificate alone: 401.
            let alone = try await client.call(.get, "/v1/agencies/zz-epb/whoami", headers: [certificate: "zz-epb"])
            #expect(alone.status == .unauthorized)
            // Both: in.
            let both = try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: "token-epb", headers: [certificate: "zz-epb"])
            #expect(both.status == .ok && both.text == "zz-epb")
        }
        // Only the two requests that passed the certificate check looked a token up.
        #expect(tokens.lookups == ["token-epb"])
    }

    @Test func theRateIsCountedPerAuthenticatedAgency() async throws {
        var limits = AdapterLimits()
        limits.requestsPerSecond = 0.001
        limits.burst = 2
        try await withAgencyRoutes(limits: limits) { client in
            // Refused requests spend nothing of the agency's budget.
            for token in [nil, "token-court", "token-nobody"] {
                #expect(try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: token).status != .ok)
            }
            #expect(try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: "token-epb").status == .ok)
            #expect(try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: "token-epb").status == .ok)
            let limited = try await client.call(.get, "/v1/agencies/zz-epb/whoami", token: "token-epb")
            #expect(limited.status == .tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(limited.headers[.contentType] == "application/problem+json")
            #expect(limited.json?["title"] == "Too many requests")
            #expect(limited.json?["detail"] == "at most 0.001 requests per second per agency (bursts of 2); retry later")
            // Another agency is not slowed by it.
            #expect(try await client.call(.get, "/v1/agencies/zz-court/whoami", token: "token-court").status == .ok)
        }
    }

    @Test func aRouteMountedWithoutAuthenticationFailsClosed() async throws {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: ProblemMiddleware())
        router.group("bare", context: AgencyRequestContext<BasicRequestContext>.self).get { _, context in
            try context.requireIdentity().rawValue
        }
        try await Application(router: router).test(.router) { client in
            let response = try await client.call(.get, "/bare", token: "token-epb")
            #expect(response.status == .unauthorized)
            #expect(response.json?["title"] == "Unauthorized")
        }
    }
}
