import AdminAPI
import ArgumentParser
import CaseModel
import Foundation
import HubStore

/// `casehub outbox parked|retry|discard`: records the relay could not publish.
struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox", abstract: "Parked outbox records: look, retry, discard.", subcommands: [Parked.self, Retry.self, Discard.self])

    struct Parked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Records that failed for good (too large, unauthorised, unknown topic), and the later records of their cases waiting behind them.")
        @OptionGroup var options: CommonOptions
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let records = try await options.withDatabase(configuration, logger: logger) { client in
                try await HubStore(client: client).parkedOutboxRecords()
            }
            let items = AdminJSON.parkedRecords(records)
            if json { return print(items.canonicalString) }
            print(TextTable(header: ["record", "parked", "topic", "case", "type", "waits behind", "reason"], rows: (items.arrayValue ?? []).map { item in
                [item["record"], item["parkedAt"], item["topic"], item["caseId"], item["type"], item["waitsBehind"], item["reason"]].map(TextTable.cell)
            }).rendered)
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a parked record again, then the records of its case behind it (audited with the reason).")
        @OptionGroup var resolution: Resolution

        func run() async throws { try await resolution.run(.retry) }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop a parked record for good so that the records of its case behind it go (audited with the reason).")
        @OptionGroup var resolution: Resolution

        func run() async throws { try await resolution.run(.discard) }
    }

    /// What retry and discard share: the record and the audited reason.
    struct Resolution: ParsableArguments {
        @OptionGroup var options: CommonOptions
        @Argument(help: "The record as 'outbox parked' names it: shard/position, e.g. 12/345.") var record: String
        @Option(help: "Why; recorded in the audit trail.") var reason: String

        func run(_ action: HubStore.ParkedAction) async throws {
            guard let position = HubStore.OutboxPosition(record) else { throw ValidationError("a parked record is named shard/position, e.g. 12/345") }
            let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...1_000).contains(trimmed.count) else { throw ValidationError("--reason needs 1 to 1,000 characters") }
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let who = "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown")
            let outcome = try await options.withDatabase(configuration, logger: logger) { client in
                try await HubStore(client: client).resolveParked(position, action, reason: trimmed, by: who, at: Date())
            }
            switch outcome {
            case .done where action == .retry: print("record \(position) released; the relay sends it and those behind it at its next round")
            case .done: print("record \(position) discarded; the records of its case behind it go at the relay's next round")
            case .notFound: throw ValidationError("no parked record \(position)")
            case .waitsBehind(let first): throw ValidationError("record \(position) waits behind \(first) of the same case: act on that one")
            case .alreadyResolved(let resolution): throw ValidationError("record \(position) was \(resolution) already")
            case .alreadyReleased: throw ValidationError("record \(position) is being sent again already")
            }
        }
    }
}
