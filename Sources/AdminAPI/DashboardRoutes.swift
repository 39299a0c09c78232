import Foundation
import HTTPCommon
public import Hummingbird

/// The administrators' web dashboard: `GET /` and its script and style under
/// `/dashboard/`. The page itself holds no data; it asks the admin API with an
/// administrator's token that the user enters (kept in the browser tab only).
///
/// The files are the target's resources (`Sources/AdminAPI/Dashboard`), read
/// once at start-up. The content security policy allows nothing but this
/// origin: no CDN, no inline script, so injected case text cannot run.
public struct DashboardRoutes: Sendable {
    struct Asset: Sendable {
        let contentType: String
        let bytes: ByteBuffer
    }

    let assets: [String: Asset]

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        .init("X-Content-Type-Options")!: "nosniff",
        .init("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-cache",
    ]

    public init() throws {
        var assets: [String: Asset] = [:]
        for (name, type) in [("index.html", "text/html; charset=utf-8"), ("dashboard.js", "text/javascript; charset=utf-8"),
                             ("dashboard.css", "text/css; charset=utf-8")] {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            guard let url = Bundle.module.url(forResource: parts[0], withExtension: parts[1], subdirectory: "Dashboard") else {
                throw DashboardError(message: "the dashboard file \(name) is missing from the AdminAPI resources")
            }
            assets[name] = Asset(contentType: type, bytes: ByteBuffer(bytes: try Data(contentsOf: url)))
        }
        self.assets = assets
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/") { _, _ in response("index.html") }
        router.get("dashboard/:file") { _, context in
            let file = try context.parameters.require("file")
            guard file != "index.html", assets[file] != nil else {
                throw ProblemDetails(.notFound, title: "Not found", detail: "no dashboard file '\(file.prefix(64))'")
            }
            return response(file)
        }
    }

    private func response(_ name: String) -> Response {
        let asset = assets[name]!
        var headers = Self.securityHeaders
        headers[.contentType] = asset.contentType
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: asset.bytes))
    }
}

struct DashboardError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
