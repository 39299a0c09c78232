import CaseModel
import HubStore
import Hummingbird
import Kafka
import Postgres

/// `GET /healthz` (the process answers) and `GET /readyz` (broker and
/// database reachable, migrations current).
public struct HealthRoutes: Sendable {
    let database: PostgresClient
    let kafka: KafkaAdmin

    public init(database: PostgresClient, kafka: KafkaAdmin) {
        self.database = database
        self.kafka = kafka
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("healthz") { _, _ in
            JSONResponseBody.ok(["status": "ok"])
        }
        router.get("readyz") { _, _ in
            await readiness()
        }
    }

    /// Each dependency checked; 200 only when all are fine.
    func readiness() async -> Response {
        var checks: [String: String] = [:]
        do {
            try await Migrator(client: database, logger: .init(label: "casehub.readyz")).requireCurrent()
            checks["database"] = "ok"
        } catch {
            checks["database"] = "\(error)"
        }
        do {
            _ = try await kafka.topics(timeoutMilliseconds: 2_000)
            checks["broker"] = "ok"
        } catch {
            checks["broker"] = "\(error)"
        }
        let ready = checks.values.allSatisfy { $0 == "ok" }
        var body = checks
        body["status"] = ready ? "ready" : "not ready"
        return JSONResponseBody.make(ready ? .ok : .serviceUnavailable, body)
    }
}

enum JSONResponseBody {
    static func ok(_ body: [String: String]) -> Response { make(.ok, body) }

    static func make(_ status: HTTPResponse.Status, _ body: [String: String]) -> Response {
        let json = JSONValue.object(body.mapValues(JSONValue.string))
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: json.canonicalBytes)))
    }
}
