import CaseModel
public import HubStore
public import Hummingbird
public import Kafka
import Logging

/// `GET /healthz` (the process answers) and `GET /readyz` (broker and
/// database reachable, migrations current). Both answer without a token, for
/// load balancers and orchestrators; so `/readyz` says only which dependency
/// fails and how (`unreachable`, `migrations pending`), and logs the details.
public struct HealthRoutes: Sendable {
    /// The database's side: reachable, and its schema what this build expects.
    let migrator: Migrator
    let kafka: KafkaAdmin

    public init(migrator: Migrator, kafka: KafkaAdmin) {
        self.migrator = migrator
        self.kafka = kafka
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("healthz") { _, _ in
            JSONResponseBody.ok(["status": "ok"])
        }
        router.get("readyz") { _, context in
            await readiness(logger: context.logger)
        }
    }

    /// Each dependency checked; 200 only when all are fine.
    func readiness(logger: Logger) async -> Response {
        var checks: [String: String] = [:]
        do {
            try await migrator.requireCurrent()
            checks["database"] = "ok"
        } catch let error as MigrationsPending {
            checks["database"] = "migrations pending"
            logger.warning("not ready: database", metadata: ["error": "\(error)"])
        } catch let error as Migrator.SchemaTooNew {
            checks["database"] = "schema newer than this build"
            logger.warning("not ready: database", metadata: ["error": "\(error)"])
        } catch {
            checks["database"] = "unreachable"
            logger.warning("not ready: database", metadata: ["error": "\(error)"])
        }
        do {
            _ = try await kafka.topics(timeoutMilliseconds: 5_000)
            checks["broker"] = "ok"
        } catch {
            checks["broker"] = "unreachable"
            logger.warning("not ready: broker", metadata: ["error": "\(error)"])
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
