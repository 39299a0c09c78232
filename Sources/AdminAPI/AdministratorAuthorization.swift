import HTTPCommon
import HubStore
import Hummingbird

/// Administrators' bearer tokens (`casehub admin token`) for the admin API and
/// `/metrics`: no token or an unknown one is `401`, an agency's token `403`.
/// Tokens are looked up by their SHA-256 (only hashes are stored), so the
/// comparison never runs over the secret itself.
struct AdministratorAuthorization: Sendable {
    let tokens: AgencyTokenStore

    /// The token's label, which names the administrator in the audit trail.
    func authorize(_ request: Request) async throws -> String {
        let token = try BearerToken.require(request, realm: "casehub-admin", howToGet: "an administrator's token (casehub admin token)")
        guard let owner = try await tokens.identity(forToken: token) else { throw BearerToken.unknown(realm: "casehub-admin") }
        guard owner.agency == AgencyTokenStore.administrators else {
            throw ProblemDetails(.forbidden, title: "Forbidden", detail: "an agency's token does not open the administrators' API")
        }
        return owner.label.isEmpty ? "administrator" : owner.label
    }
}
