public import CaseModel
public import HTTPCommon
import HubStore
public import Hummingbird

/// The context of every agency route: the server's context plus the agency
/// the caller proved to be (``AgencyAuthenticationMiddleware``).
public typealias AgencyRequestContext<Parent: RequestContext> = AuthenticatedRequestContext<Parent, AgencyID>

/// Whose a bearer token is: a seam over ``AgencyTokenStore`` (only hashes are
/// stored, so the secret is never compared itself).
public protocol AgencyTokenLookup: Sendable {
    /// The principal the token was issued to, or nil when it is unknown or revoked.
    func agency(forToken token: String) async throws -> AgencyID?
}

extension AgencyTokenStore: AgencyTokenLookup {}

/// What every agency path goes through before its handler, in this order:
/// ``AgencyAuthenticationMiddleware`` (the path's agency, its bearer token),
/// ``AgencyRateLimitMiddleware`` (its budget), and ``SubmissionProblemMiddleware``
/// (a refused submission answered as its problem document). Routes are added
/// to the group ``group(under:)`` returns; their context carries the agency.
public struct AgencyAccess: Sendable {
    let agencies: Set<AgencyID>
    let tokens: any AgencyTokenLookup
    let limits: AdapterLimits
    let rateLimiter: AgencyRateLimiter
    let refusals: any AdapterRefusalRecording

    /// `refusals` hears of every token used on another agency's paths.
    public init(agencies: Set<AgencyID>, tokens: any AgencyTokenLookup, limits: AdapterLimits, refusals: any AdapterRefusalRecording) {
        self.agencies = agencies
        self.tokens = tokens
        self.limits = limits
        self.refusals = refusals
        rateLimiter = AgencyRateLimiter(requestsPerSecond: limits.requestsPerSecond, burst: limits.burst)
    }

    /// The authenticated group inside `parent`, a group whose path holds the
    /// `:agency` parameter (`v1/agencies/:agency`) and that may carry the
    /// server's own middleware (it runs first, in the server's context).
    public func group<Parent: RequestContext>(under parent: RouterGroup<Parent>) -> RouterGroup<AgencyRequestContext<Parent>> {
        parent.group(context: AgencyRequestContext<Parent>.self)
            .add(middleware: AgencyAuthenticationMiddleware<AgencyRequestContext<Parent>>(agencies: agencies, tokens: tokens, refusals: refusals))
            .add(middleware: AgencyRateLimitMiddleware<AgencyRequestContext<Parent>>(limiter: rateLimiter, limits: limits))
            .add(middleware: SubmissionProblemMiddleware<AgencyRequestContext<Parent>>())
    }
}

/// Authenticates agency paths (`/v1/agencies/{agency}/…`): the path must name
/// an agency this process serves (`404`), the request must carry a bearer
/// token (`401` with `WWW-Authenticate: Bearer`) issued to that very agency
/// (another principal's: `403`, recorded for administrators as an
/// impersonation). Then the context carries the agency and handlers act for
/// it alone. Requests without a valid token are not recorded: anyone could
/// send them (the HTTP metrics count them by route and status).
public struct AgencyAuthenticationMiddleware<Context: IdentifiedRequestContext<AgencyID>>: RouterMiddleware {
    let agencies: Set<AgencyID>
    let tokens: any AgencyTokenLookup
    let refusals: any AdapterRefusalRecording

    public init(agencies: Set<AgencyID>, tokens: any AgencyTokenLookup, refusals: any AdapterRefusalRecording) {
        self.agencies = agencies
        self.tokens = tokens
        self.refusals = refusals
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let text = try context.parameters.require("agency")
        guard let id = AgencyID(rawValue: text), agencies.contains(id) else {
            throw ProblemDetails(.notFound, title: "Unknown agency", detail: "no adapter serves agency '\(text.prefix(80))' here")
        }
        let token = try BearerToken.require(request, realm: "casehub", howToGet: "a token issued to \(id) (casehub agencies token \(id))")
        guard let owner = try await tokens.agency(forToken: token) else { throw BearerToken.unknown(realm: "casehub") }
        guard owner == id else {
            refusals.record(.impersonation(token: token, of: owner, on: id, request: request))
            throw ProblemDetails(.forbidden, title: "Forbidden", detail: "this token belongs to another agency; it works only on that agency's paths")
        }
        var context = context
        context.identity = id
        return try await next(request, context)
    }
}

/// Each agency's request budget (``AgencyRateLimiter``), spent only by its
/// own authenticated requests, so that one agency's flood does not slow
/// another: beyond it, `429` with `Retry-After` in whole seconds.
public struct AgencyRateLimitMiddleware<Context: IdentifiedRequestContext<AgencyID>>: RouterMiddleware {
    let limiter: AgencyRateLimiter
    let limits: AdapterLimits

    public init(limiter: AgencyRateLimiter, limits: AdapterLimits) {
        self.limiter = limiter
        self.limits = limits
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let wait = limiter.admit(try context.requireIdentity()) {
            throw Self.tooManyRequests(retryAfter: wait, limits: limits)
        }
        return try await next(request, context)
    }

    /// The 429 for a refused request, with `Retry-After` in whole seconds.
    static func tooManyRequests(retryAfter wait: Duration, limits: AdapterLimits) -> ProblemDetails {
        var problem = ProblemDetails(.tooManyRequests, title: "Too many requests",
                                     detail: "at most \(limits.requestsPerSecond) requests per second per agency (bursts of \(Int(limits.burst))); retry later")
        problem.headers[.retryAfter] = String(max(1, Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up))))
        return problem
    }
}
