import ArgumentParser
import CaseHubServer
import HubStore
import Kafka
import Postgres

/// `casehub migrate`: brings the database schema up to date and grants the
/// processes' roles; the only command that changes the schema. Runs as the
/// schema's owner (`CASEHUB_DATABASE_URL`).
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Apply pending database migrations and grant the processes' roles (as the schema's owner).",
        discussion: """
            Creates the roles \(DatabaseRole.allCases.map(\.rawValue).joined(separator: ", ")) (NOLOGIN) when missing, and grants each \
            what its processes need (docs/postgres.md). Log the processes in as members of them.
            """)

    @OptionGroup var options: CommonOptions

    @Option(help: "How many audit chains a new database gets (1–4096); fixed once the database has them.")
    var auditShards: Int = AuditShards.defaultCount

    func run() async throws {
        let logger = try options.bootstrapLogging()
        let configuration = try options.configuration()
        let applied = try await options.withOwnerDatabase(configuration, logger: logger) { client in
            try await Migrator(client: client, logger: logger, auditShardCount: auditShards).migrate()
        }
        print(applied.isEmpty
              ? "database schema is current (version \(Migration.latestVersion))"
              : "applied migration(s) \(applied.map(String.init).joined(separator: ", ")); schema at version \(Migration.latestVersion)")
        print("roles granted: \(DatabaseRole.allCases.map(\.rawValue).joined(separator: ", "))")
    }
}

/// `casehub topics`: creates missing topics and lists them. An
/// administrator's step, as `migrate` is: the hub and adapters create none.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "topics", abstract: "Create the topics of every registered agency and list them.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let logger = try options.bootstrapLogging()
        let configuration = try options.configuration()
        try LibrdkafkaVersion.requireSupported()
        let admin = try KafkaAdmin(configuration: configuration.kafka, logger: logger)
        let created = try await admin.createTopics(configuration.topicSpecifications)
        let wanted = Set(configuration.topicSpecifications.map(\.name))
        for topic in try await admin.topics() where wanted.contains(topic.name) {
            print("\(topic.name)\t\(topic.partitionCount) partitions\(created.contains(topic.name) ? "\t(created)" : "")")
        }
    }
}
