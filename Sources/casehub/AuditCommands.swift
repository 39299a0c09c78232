import ArgumentParser
import CaseHubServer
import CaseModel
import Foundation
import Hub
import HubStore
import Postgres

/// `casehub audit verify [--case ID]`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Check the tamper-evident audit trail.",
                                                    subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify the hash chain; exit 1 and say where it breaks.")

        @OptionGroup var options: CommonOptions

        @Option(name: .customLong("case"), help: "Verify one case only.")
        var caseID: String?

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let progress = ProgressBar(label: "verifying")
            let report = try await options.withDatabase(configuration, logger: logger) { client in
                let verifier = AuditVerifier(client: client)
                if let caseID { return try await verifier.verifyCase(caseID) }
                return try await verifier.verifyAll { progress.show($0, of: $1) }
            }
            progress.finish()
            if report.isIntact {
                print("audit trail intact: \(report.checked) record(s) checked\(caseID.map { " for case \($0)" } ?? "")")
            } else {
                print("audit trail BROKEN: \(report.breaks.count) problem(s) in \(report.checked) record(s) checked")
                for problem in report.breaks { print("  \(problem)") }
                throw ExitCode(1)
            }
        }
    }
}

/// `casehub replay`.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Rebuild case state from the audit trail into cases_replay and compare it with the live state.")

    @OptionGroup var options: CommonOptions

    func run() async throws {
        let logger = try options.bootstrapLogging()
        let configuration = try options.configuration()
        let progress = ProgressBar(label: "replaying")
        let report = try await options.withDatabase(configuration, logger: logger) { client in
            try await CaseReplayer(store: HubStore(client: client), registry: configuration.registry).replay { progress.show($0, of: $1) }
        }
        progress.finish()
        print("replayed \(report.eventsReplayed) event(s) into \(report.casesRebuilt) case(s)")
        if report.isConsistent {
            print("live state matches the audit trail")
        } else {
            for id in report.mismatches { print("  case \(id): live state differs from the replay") }
            for refusal in report.refusedOnReplay { print("  \(refusal)") }
            throw ExitCode(1)
        }
    }
}

/// A one-line progress bar on standard error (only when it is a terminal).
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let enabled = isatty(STDERR_FILENO) == 1
    private var shown = false

    init(label: String) { self.label = label }

    func show(_ done: Int, of total: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = min(width, done * width / total)
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(label) \(bar) \(done * 100 / total)% (\(done)/\(total))".utf8))
        shown = true
    }

    func finish() {
        if shown { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
