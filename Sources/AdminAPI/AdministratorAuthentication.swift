import CaseModel
public import HTTPCommon
public import HubStore
public import Hummingbird

/// An administrator, as their token names them.
public struct Administrator: Sendable, Hashable {
    /// The token's label (`casehub admin token --label …`), or `administrator`
    /// for a token without one; it names the administrator in the audit trail.
    public var name: String
    /// The token's id (the first 8 bytes of its SHA-256, hex), for the audit trail.
    public var tokenID: String?

    public init(name: String, tokenID: String? = nil) {
        self.name = name
        self.tokenID = tokenID
    }
}

/// The context of the administrators' routes and `/metrics`: the server's
/// context plus the administrator (``AdministratorAuthenticationMiddleware``).
public typealias AdministratorRequestContext<Parent: RequestContext> = AuthenticatedRequestContext<Parent, Administrator>

/// Administrators' bearer tokens (`casehub admin token`) for the admin API and
/// `/metrics`: no token or an unknown one is `401`, an agency's token `403`.
/// Tokens are looked up by their SHA-256 (only hashes are stored), so the
/// comparison never runs over the secret itself.
public struct AdministratorAuthenticationMiddleware<Context: IdentifiedRequestContext<Administrator>>: RouterMiddleware {
    let tokens: AgencyTokenStore

    public init(tokens: AgencyTokenStore) {
        self.tokens = tokens
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let token = try BearerToken.require(request, realm: "casehub-admin", howToGet: "an administrator's token (casehub admin token)")
        guard let owner = try await tokens.identity(forToken: token) else { throw BearerToken.unknown(realm: "casehub-admin") }
        guard owner.agency == AgencyTokenStore.administrators else {
            throw ProblemDetails(.forbidden, title: "Forbidden", detail: "an agency's token does not open the administrators' API")
        }
        var context = context
        context.identity = Administrator(name: owner.label.isEmpty ? "administrator" : owner.label, tokenID: AgencyTokenStore.id(of: token))
        return try await next(request, context)
    }
}

extension RouterMethods {
    /// A group of administrators' routes under `path`: every route in it needs
    /// an administrator's token, and its context carries the administrator.
    func administratorGroup(_ path: RouterPath, tokens: AgencyTokenStore) -> RouterGroup<AdministratorRequestContext<Context>> {
        group(path, context: AdministratorRequestContext<Context>.self)
            .add(middleware: AdministratorAuthenticationMiddleware<AdministratorRequestContext<Context>>(tokens: tokens))
    }
}
