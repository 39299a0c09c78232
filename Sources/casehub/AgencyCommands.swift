import AdminAPI
import ArgumentParser
import CaseHubServer
import CaseModel
import Foundation
import HubStore
import Postgres

/// `casehub agencies list|token|revoke`: the registered agencies and the
/// bearer tokens their systems use.
struct AgenciesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agencies", abstract: "The registered agencies and their access to their adapters.",
        subcommands: [List.self, IssueToken.self, RevokeTokens.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Registered agencies with their live tokens, signing keys and events sent.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Only agencies of this kind, e.g. procuratorate.") var kind: String?
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            if let kind, AgencyKind(rawValue: kind) == nil {
                throw ValidationError("--kind is one of: \(AgencyKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let activity = try await options.withDatabase(configuration, logger: logger) { try await AdminQueries(client: $0).agencyActivity() }
            let all = AgencyListing.json(registry: configuration.registry, activity: activity, served: nil).arrayValue ?? []
            let listed = all.filter { kind == nil || $0["kind"]?.stringValue == kind }
            if json { return print(JSONValue.array(listed).canonicalString) }
            print(TextTable(header: ["agency", "kind", "tokens", "keys", "accepted", "refused", "last event", "name"], rows: listed.map { item in
                [item["id"], item["kind"], item["tokens"], item["keys"], item["accepted"], item["refused"], item["lastEventAt"], item["name"]].map(TextTable.cell)
            }).rendered)
        }
    }

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
                try await AgencyTokenStore(client: client).issue(agency: id, label: label, by: .commandLine)
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
                try await AgencyTokenStore(client: client).revoke(agency: id, label: label, by: .commandLine)
            }
            print("revoked \(count) token(s) of \(agency)")
        }
    }
}

extension CommonOptions {
    /// For the per-agency admin commands: logging, the configuration, the
    /// agency checked against the registry, and a database client.
    func withAgency<T>(_ text: String, _ body: (AgencyID, PostgresClient) async throws -> T) async throws -> T {
        let logger = try bootstrapLogging()
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

/// The demo tokens `casehub run` issues: one per agency and one for the
/// administrators, label `demo`, the
/// previous run's revoked, written to a file only the user can read. Issued
/// and revoked as the administrator `local-stack`, audited like any other.
enum DemoTokens {
    static func issue(for agencies: [AgencyID], store: AgencyTokenStore, file: String) async throws {
        var lines = ["# CaseHub demo tokens, one per agency (casehub-admin: the dashboard and admin API): curl -H \"Authorization: Bearer <token>\" …"]
        for agency in agencies {
            try await store.revoke(agency: agency, label: "demo", by: .localStack)
            lines.append("\(agency)\t\(try await store.issue(agency: agency, label: "demo", by: .localStack))")
        }
        guard FileManager.default.createFile(atPath: file, contents: Data((lines.joined(separator: "\n") + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw ValidationError("cannot write the demo tokens to \(file)")
        }
    }
}
