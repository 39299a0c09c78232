import CaseHubMetrics
import CaseHubServer
import CaseModel
import Hummingbird
import HummingbirdTesting
import Kafka
import Logging
import Postgres
import Testing

/// The stack's builders are usable alone, as hummingbird's `buildRouter` is:
/// here the router the stack serves, in process, with nothing behind it
/// (the database and broker are never reached by these routes).
struct StackPartsTests {
    func parts(roles: CaseHubConfiguration.Roles) throws -> CaseHubStack.Parts {
        let logger = Logger(label: "test.parts")
        var configuration = CaseHubConfiguration(
            kafka: KafkaConfiguration(bootstrapServers: ["127.0.0.1:1"]), databaseURL: "host=127.0.0.1 port=1 connect_timeout=1")
        configuration.roles = roles
        return CaseHubStack.Parts(
            configuration: configuration,
            database: PostgresClient(configuration: PostgresConfiguration(connectionString: configuration.databaseURL), logger: logger),
            kafkaAdmin: try KafkaAdmin(configuration: configuration.kafka, logger: logger),
            metrics: CaseHubMetrics(), logger: logger)
    }

    @Test func theRouterAnswersLivenessAndKeepsAdministratorsRoutesClosed() async throws {
        let router = try parts(roles: .init(hub: true, adapters: [])).router()
        let application = Application(router: router)
        try await application.test(.router) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
            for path in ["/metrics", "/v1/cases", "/v1/overview"] {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .unauthorized, "\(path)")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(path)")
                }
            }
        }
    }

    /// A process without the hub role serves no administrators' API.
    @Test func anAdapterOnlyRouterHasNoAdministratorsAPI() async throws {
        let router = try parts(roles: .init(hub: false, adapters: [])).router()
        try await Application(router: router).test(.router) { client in
            try await client.execute(uri: "/v1/cases", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
