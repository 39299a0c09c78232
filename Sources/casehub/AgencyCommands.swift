import ArgumentParser
import CaseHubServer
import CaseModel
import Foundation
import HubStore
import Postgres

/// `casehub agencies token|revoke`: the bearer tokens agencies' systems use.
struct AgenciesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agencies", abstract: "Manage the agencies' access to their adapters.",
        subcommands: [IssueToken.self, RevokeTokens.self])

    struct IssueToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token",
            abstract: "Issue a bearer token for an agency; it is printed once, only its hash is stored.")

        @OptionGroup var options: CommonOptions

        @Argument(help: "The agency id, e.g. zz-epb.")
        var agency: String

        @Option(help: "A label to tell tokens apart (e.g. the system that uses it).")
        var label: String = ""

        func run() async throws {
            print(try await options.withAgency(agency) { id, client in
                try await AgencyTokenStore(client: client).issue(agency: id, label: label)
            })
        }
    }

    struct RevokeTokens: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke an agency's tokens (all, or those with a label).")

        @OptionGroup var options: CommonOptions

        @Argument(help: "The agency id.")
        var agency: String

        @Option(help: "Revoke only the tokens with this label.")
        var label: String?

        func run() async throws {
            let count = try await options.withAgency(agency) { id, client in
                try await AgencyTokenStore(client: client).revoke(agency: id, label: label)
            }
            print("revoked \(count) token(s) of \(agency)")
        }
    }
}

extension CommonOptions {
    /// For the per-agency admin commands: logging, the configuration, the
    /// agency checked against the registry, and a database client.
    func withAgency<T>(_ text: String, _ body: (AgencyID, PostgresClient) async throws -> T) async throws -> T {
        let logger = bootstrapLogging()
        let configuration = try configuration()
        let agency = try configuration.registry.require(text)
        return try await withDatabase(configuration, logger: logger) { client in try await body(agency, client) }
    }
}

extension AgencyRegistry {
    /// The agency with this id, or a clear error naming the registry.
    func require(_ text: String) throws -> AgencyID {
        guard let id = AgencyID(rawValue: text), self[id] != nil else {
            throw ValidationError("'\(text)' is not a registered agency (see Sources/CaseModel/AgencyRegistry.swift or --registry)")
        }
        return id
    }
}

/// The demo tokens `casehub run` issues: one per agency, label `demo`, the
/// previous run's revoked, written to a file only the user can read.
enum DemoTokens {
    static func issue(for agencies: [AgencyID], store: AgencyTokenStore, file: String) async throws {
        var lines = ["# CaseHub demo tokens, one per agency: curl -H \"Authorization: Bearer <token>\" …"]
        for agency in agencies {
            try await store.revoke(agency: agency, label: "demo")
            lines.append("\(agency)\t\(try await store.issue(agency: agency, label: "demo"))")
        }
        FileManager.default.createFile(atPath: file, contents: Data((lines.joined(separator: "\n") + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600])
    }
}
