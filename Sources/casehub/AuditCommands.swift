import ArgumentParser
import CaseHubServer
import CaseModel
import Crypto
import Foundation
import Hub
import HubStore
import Postgres

/// `casehub audit verify [--case ID] [--checkpoints kafka|FILE --hub-public-key KEY]`,
/// `casehub audit checkpoint`, `casehub audit export-checkpoints FILE`, `casehub audit hub-key`.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "audit", abstract: "Check the tamper-evident audit trail.",
                                                    subcommands: [Verify.self, Checkpoint.self, ExportCheckpoints.self, HubKey.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify the hash chain; exit 1 and say where it breaks.")

        @OptionGroup var options: CommonOptions

        @Option(name: .customLong("case"), help: "Verify one case only.")
        var caseID: String?

        @Option(help: "Also check the rows against signed checkpoints: 'kafka' (the checkpoints topic) or a file exported with export-checkpoints.")
        var checkpoints: String?

        @Option(help: "The hub's public key (base64, from `casehub audit hub-key`) that must have signed the checkpoints.")
        var hubPublicKey: String?

        @Option(help: "How many breaks to list one by one; all of them are counted, by chain, whatever this says.")
        var list = 50

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            var signed: [AuditCheckpoint.Signed] = []
            var publicKey: Curve25519.Signing.PublicKey?
            if let checkpoints {
                guard let text = hubPublicKey, let raw = Data(base64Encoded: text),
                      let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                    throw ValidationError("--checkpoints needs --hub-public-key: the hub's Ed25519 public key in base64, kept apart from the database")
                }
                publicKey = key
                signed = checkpoints == "kafka"
                    ? try await CheckpointFeed(kafka: configuration.kafka, topic: configuration.topics.checkpoints, logger: logger).readAll()
                    : try CheckpointFile.read(checkpoints)
            }
            let progress = ProgressBar(label: "verifying")
            var (report, checkpointProblems) = try await options.withDatabase(configuration, logger: logger) { client in
                let verifier = AuditVerifier(client: client)
                if let caseID { return (try await verifier.verifyCase(caseID), [String]()) }
                let report = try await verifier.verifyAll(listing: list) { progress.show($0, of: $1) }
                var problems: [String] = []
                let store = HubStore(client: client)
                for item in signed {
                    guard let publicKey, item.checkpoint.isSigned(item.signature, by: publicKey) else {
                        problems.append("the checkpoint of \(RFC3339.format(item.checkpoint.time)) is not signed by this hub key: not trusted")
                        continue
                    }
                    problems += try await store.disagreements(with: item.checkpoint)
                }
                return (report, problems)
            }
            progress.finish()
            if report.isIntact && checkpointProblems.isEmpty {
                let against = checkpoints == nil ? "" : ", consistent with \(signed.count) signed checkpoint(s)"
                print("audit trail intact: \(report.checked) record(s) checked\(caseID.map { " for case \($0)" } ?? "")\(against)")
            } else {
                checkpointProblems = Array(Set(checkpointProblems)).sorted()
                Self.printBroken(report, checkpointProblems: checkpointProblems, caseID: caseID)
                throw ExitCode(1)
            }
        }

        /// The totals first (how many breaks, in which chains), then the
        /// breaks listed, then what was left unlisted and how to see it.
        static func printBroken(_ report: AuditVerifier.Report, checkpointProblems: [String], caseID: String?) {
            let scope = caseID.map { " for case \($0)" } ?? ""
            let chains = report.breakCount > 0 && report.chainsChecked > 0
                ? " in \(report.brokenChains.count) of \(report.chainsChecked) chain(s)" : ""
            print("audit trail BROKEN: \(report.breakCount) break(s)\(chains), \(report.checked) record(s) checked\(scope)"
                + (checkpointProblems.isEmpty ? "" : "; \(checkpointProblems.count) checkpoint problem(s)"))
            if report.chainsChecked > 0 {
                for chain in report.brokenChains { print("  \(chain)") }
            }
            if !report.breaks.isEmpty {
                print(report.unlisted > 0 ? "the first \(report.breaks.count) break(s):" : "break(s):")
                for found in report.breaks { print("  \(found)") }
            }
            if report.unlisted > 0 {
                print("  … and \(report.unlisted) more, not listed (--list \(report.breakCount) lists them all)")
            }
            if !checkpointProblems.isEmpty {
                print("checkpoint problem(s):")
                for problem in checkpointProblems { print("  \(problem)") }
            }
        }
    }

    /// `casehub audit checkpoint --hub-key FILE`: a checkpoint now.
    struct Checkpoint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sign and publish a checkpoint of the audit chains' heads now.")

        @OptionGroup var options: CommonOptions

        @Option(help: "The hub's Ed25519 signing key file.")
        var hubKey: String

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let key = try HubSigningKey.load(at: hubKey)
            let signed = try await options.withDatabase(configuration, logger: logger) { client in
                try await CheckpointWriter(store: HubStore(client: client), key: key, topics: configuration.topics, interval: .seconds(5),
                                           relayWakeup: Wakeup(), logger: logger).writeNow()
            }
            print("checkpoint of \(signed.checkpoint.heads.count) chain(s) at \(RFC3339.format(signed.checkpoint.time)) written; the hub's relay publishes it")
        }
    }

    /// `casehub audit export-checkpoints FILE`: what an auditor keeps.
    struct ExportCheckpoints: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-checkpoints", abstract: "Write every checkpoint on the checkpoints topic to a file (one JSON object a line).")

        @OptionGroup var options: CommonOptions

        @Argument(help: "The file to write.")
        var file: String

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let signed = try await CheckpointFeed(kafka: configuration.kafka, topic: configuration.topics.checkpoints, logger: logger).readAll()
            try CheckpointFile.write(signed, to: file)
            print("\(signed.count) checkpoint(s) written to \(file)")
        }
    }

    /// `casehub audit hub-key --hub-key FILE`: the public half, for auditors.
    struct HubKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "hub-key", abstract: "Print the hub's public key (base64) and key id.")

        @Option(help: "The hub's Ed25519 signing key file.")
        var hubKey: String

        func run() async throws {
            let key = try HubSigningKey.load(at: hubKey)
            print("\(key.publicKey.rawRepresentation.base64EncodedString())\t\(HubSigningKey.keyID(of: key))")
        }
    }
}

/// Checkpoints in a file: one JSON object (``AuditCheckpoint/Signed``) a line.
enum CheckpointFile {
    static func read(_ path: String) throws -> [AuditCheckpoint.Signed] {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        return try data.split(separator: UInt8(ascii: "\n")).enumerated().map { index, line in
            do {
                return try AuditCheckpoint.Signed(json: try JSONValue.parse(Array(line)))
            } catch {
                throw ValidationError("\(path):\(index + 1): not a checkpoint: \(error)")
            }
        }
    }

    static func write(_ checkpoints: [AuditCheckpoint.Signed], to path: String) throws {
        let text = checkpoints.map { $0.json.canonicalString + "\n" }.joined()
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { throw ValidationError("cannot write \(path)") }
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
