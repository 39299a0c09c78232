import Foundation
public import Hummingbird

/// `Authorization: Bearer <token>`, shared by the agencies' and the administrators' APIs.
public enum BearerToken {
    /// The request's token; a 401 challenge for `realm`, saying how to get one, when there is none.
    public static func require(_ request: Request, realm: String, howToGet: String) throws -> String {
        guard let token = sent(request) else {
            throw challenge(realm: realm, detail: "send 'Authorization: Bearer <token>' with \(howToGet)")
        }
        guard !token.isEmpty, token.utf8.count <= 200 else { throw unknown(realm: realm) }
        return token
    }

    /// The request's token as ``require(_:realm:howToGet:)`` accepts it, or
    /// nil: for naming the token of a request already authenticated.
    public static func presented(_ request: Request) -> String? {
        guard let token = sent(request), !token.isEmpty, token.utf8.count <= 200 else { return nil }
        return token
    }

    /// What follows `Bearer ` in the `Authorization` header, trimmed; nil without one.
    private static func sent(_ request: Request) -> String? {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return nil }
        return String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    /// The 401 for a token that is not (or no longer) valid.
    public static func unknown(realm: String) -> ProblemDetails {
        challenge(realm: realm, detail: "the bearer token is unknown or revoked")
    }

    static func challenge(realm: String, detail: String) -> ProblemDetails {
        var problem = ProblemDetails(.unauthorized, title: "Unauthorized", detail: detail)
        problem.headers[.wwwAuthenticate] = "Bearer realm=\"\(realm)\""
        return problem
    }
}
