import ArgumentParser
import CaseHubServer
import CaseModel
import Foundation
import Hub
import HubStore
import Logging

/// `casehub run`: the hub and every registered agency's adapter in one
/// process, against the embedded local stack that `make run` starts. Local
/// mode: it first does the administrator's part (migrates the database as
/// its owner, creates the topics), then runs the hub and the adapters each
/// under its own database role.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the hub, all adapters and the HTTP API in one process (the embedded stack)."
    )

    @OptionGroup var options: CommonOptions

    @Option(help: "Folder for local state of this stack (kept between runs).")
    var dataDir: String = ".local/run"

    @Flag(help: "Keep a demonstration scenario running: cases of every procedure, on a compressed clock (a statutory day lasts 2 s).")
    var demo = false

    func run() async throws {
        let logger = try options.bootstrapLogging()
        var configuration = try options.configuration()
        // tansu delays a group join by about half the session timeout.
        if options.sessionTimeoutMs == nil { configuration.consumerSessionTimeoutMilliseconds = 6_000 }
        configuration.roles = .init(hub: true, adapters: configuration.registry.all.map(\.id))
        if demo {
            let scenario = DemoScenario.Configuration()
            configuration.demo = scenario
            // Demo deadlines are not the law: a demo database is for looking at, not for real cases.
            configuration.hub.deadlineRules = DeadlineRules.standard.compressed(secondsPerDay: scenario.secondsPerDay)
        }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)

        try await CaseHubStack.prepareLocally(&configuration, logger: logger)
        let host = configuration.httpHost
        let scheme = configuration.httpTLS == nil ? "http" : "https"
        let agencyCount = configuration.registry.all.count
        configuration.keyDirectory = (dataDir as NSString).appendingPathComponent("keys")
        // Local mode: this stack approves the keys its adapters generated, as the audited administrator `local-stack`.
        configuration.approveOwnSigningKeys = true
        configuration.hubKeyFile = (dataDir as NSString).appendingPathComponent("hub-key/casehub-hub.ed25519")
        let dropDirectory = (dataDir as NSString).appendingPathComponent("drop")
        configuration.fileDropDirectory = dropDirectory
        try await CaseHubStack.checkReady(configuration, logger: logger)
        let tokenFile = (dataDir as NSString).appendingPathComponent("tokens.txt")
        try await options.withDatabase(configuration, logger: logger) { client in
            // Every agency's, and an administrator's for the dashboard.
            try await DemoTokens.issue(for: configuration.registry.all.map(\.id) + [AgencyTokenStore.administrators],
                                       store: AgencyTokenStore(client: client), file: tokenFile)
        }
        let stack = try await CaseHubStack(configuration: configuration, logger: logger) { port in
            logger.notice("CaseHub is up: \(scheme)://\(host):\(port)  (\(agencyCount) agencies; Ctrl-C stops)")
            logger.notice("dashboard: \(scheme)://\(host):\(port)/ — sign in with the \(AgencyTokenStore.administrators) token in \(tokenFile)")
            logger.notice("each agency's bearer token (new at every start): \(tokenFile)")
            logger.notice("file drop: \(dropDirectory)/<agency>/outgoing and incoming")
        }
        try await stack.run()
    }
}

/// `casehub hub`: the hub pipeline and outbox relay only (run N of them).
/// Needs the database migrated (`casehub migrate`) and the topics created (`casehub topics`).
struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "hub", abstract: "Run the hub pipeline, outbox relay and health API.")

    @OptionGroup var options: CommonOptions

    @Option(help: "The hub's Ed25519 signing key file (created if missing): it signs the audit checkpoints and every record on agencies' delivery topics. Give every hub process the same file. Without it, no checkpoints are written and deliveries are signed with a key made for this process (only adapters trusting the database's hub keys accept them).")
    var hubKey: String?

    func run() async throws {
        let logger = try options.bootstrapLogging()
        var configuration = try options.configuration()
        configuration.roles = .init(hub: true, adapters: [])
        configuration.hubKeyFile = hubKey
        try await CaseHubStack.checkReady(configuration, logger: logger)
        try await CaseHubStack(configuration: configuration, logger: logger).run()
    }
}

/// `casehub adapter --agency ID`: one agency's adapter. Needs the database
/// migrated and the topics created, as `casehub hub` does.
struct AdapterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "adapter", abstract: "Run one agency's adapter (HTTP API and delivery consumer).")

    @OptionGroup var options: CommonOptions

    @Option(help: "The agency id, e.g. tianyuan-procuratorate.")
    var agency: String

    @Option(help: "Folder holding the agency's private signing key (created with a new key if missing, and proposed: an administrator approves it with 'casehub keys approve').")
    var keyDir: String = ".local/adapter-keys"

    @Option(help: "Root of the file drop (<dir>/<agency>/outgoing, incoming, done, failed); none if omitted.")
    var dropDir: String?

    @Option(help: "A hub public key (base64, from 'casehub audit hub-key') that deliveries must be signed with; repeat during a rotation. Without it, the adapter trusts the hub keys recorded in the database.")
    var hubPublicKey: [String] = []

    func run() async throws {
        let logger = try options.bootstrapLogging()
        var configuration = try options.configuration()
        let agencyRecord: Agency
        do {
            agencyRecord = try configuration.registry.agency(agency)
        } catch {
            throw ValidationError("\(error)")
        }
        configuration.roles = .init(hub: false, adapters: [agencyRecord.id])
        configuration.keyDirectory = keyDir
        configuration.fileDropDirectory = dropDir
        configuration.hubPublicKeys = hubPublicKey
        try await CaseHubStack.checkReady(configuration, logger: logger)
        try await CaseHubStack(configuration: configuration, logger: logger).run()
    }
}
