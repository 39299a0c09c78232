import ArgumentParser

@main
struct CaseHubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "casehub",
        abstract: "The integration hub between ecological-environment enforcement agencies.",
        subcommands: [RunCommand.self, HubCommand.self, AdapterCommand.self, MigrateCommand.self, TopicsCommand.self, OutboxCommand.self,
                      AgenciesCommand.self, KeysCommand.self, AdminCommand.self, CasesCommand.self, DeadlinesCommand.self, RejectionsCommand.self,
                      FlowsCommand.self, LagCommand.self, AuditCommand.self, ReplayCommand.self]
    )
}
