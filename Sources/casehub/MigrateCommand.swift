import ArgumentParser
import CaseHubServer
import HubStore
import Kafka
import Postgres

/// `casehub migrate`: brings the database schema up to date.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply pending database migrations.")

    @OptionGroup var options: CommonOptions

    @Option(help: "How many audit chains a new database gets (1–4096); fixed once the database has them.")
    var auditShards: Int = AuditShards.defaultCount

    func run() async throws {
        let logger = try options.bootstrapLogging()
        let configuration = try options.configuration()
        let applied = try await options.withDatabase(configuration, logger: logger) { client in
            try await Migrator(client: client, logger: logger, auditShardCount: auditShards).migrate()
        }
        print(applied.isEmpty
              ? "database schema is current (version \(Migration.latestVersion))"
              : "applied migration(s) \(applied.map(String.init).joined(separator: ", ")); schema at version \(Migration.latestVersion)")
    }
}

/// `casehub topics`: creates missing topics and lists them.
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
