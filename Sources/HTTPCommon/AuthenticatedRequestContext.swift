public import Hummingbird

/// A request context that carries who is calling, once a middleware has
/// established it: nil before (or without) authentication.
public protocol IdentifiedRequestContext<Identity>: RequestContext {
    associatedtype Identity: Sendable
    var identity: Identity? { get set }
}

/// The request context of an authenticated route group: the parent context's
/// core (logger, path parameters, matched route) plus the caller's identity,
/// which an authentication middleware on the group sets before any handler
/// runs. Mounted with `group(_:context:)`, so the server's own context (the
/// connection, for client certificates) stays outside and its middleware
/// still runs first.
public struct AuthenticatedRequestContext<Parent: RequestContext, Identity: Sendable>: ChildRequestContext, IdentifiedRequestContext {
    public typealias ParentContext = Parent
    public var coreContext: CoreRequestContextStorage
    public var identity: Identity?

    public init(context: Parent) {
        coreContext = context.coreContext
        identity = nil
    }
}

extension IdentifiedRequestContext {
    /// The caller, as the group's authentication middleware established it.
    /// A route mounted without that middleware fails closed: `401`.
    public func requireIdentity() throws(ProblemDetails) -> Identity {
        guard let identity else {
            throw ProblemDetails(.unauthorized, title: "Unauthorized", detail: "the request was not authenticated")
        }
        return identity
    }
}
