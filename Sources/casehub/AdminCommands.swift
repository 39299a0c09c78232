import AdminAPI
import ArgumentParser
import CaseHubServer
import CaseModel
import Foundation
import HubStore

/// `casehub admin token`: an administrator's bearer token for the admin API.
struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin", abstract: "Administrators' access.", subcommands: [IssueToken.self, RevokeTokens.self])

    struct IssueToken: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token", abstract: "Issue an administrator's bearer token; printed once, only its hash is stored.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Who or what uses it.")
        var label: String = ""

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            print(try await options.withDatabase(configuration, logger: logger) { client in
                try await AgencyTokenStore(client: client).issue(agency: AgencyTokenStore.administrators, label: label, by: .commandLine)
            })
        }
    }
}

extension AdminCommand {
    struct RevokeTokens: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke administrators' tokens (all, or those with a label).")
        @OptionGroup var options: CommonOptions
        @Option(help: "Revoke only the tokens with this label.")
        var label: String?

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let count = try await options.withDatabase(configuration, logger: logger) { client in
                try await AgencyTokenStore(client: client).revoke(agency: AgencyTokenStore.administrators, label: label, by: .commandLine)
            }
            print("revoked \(count) administrator token(s)")
        }
    }
}

/// `casehub cases list|show`.
struct CasesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cases", abstract: "Look at canonical cases.", subcommands: [List.self, Show.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cases, most recently updated first.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Procedure, e.g. administrative-pil.") var procedure: String?
        @Option(help: "Status, e.g. in-court.") var status: String?
        @Option(help: "Only cases this agency is party to.") var agency: String?
        @Option(help: "Any agency's number for the case.") var number: String?
        @Flag(help: "Only cases with a deadline past due.") var overdue = false
        @Option(help: "At most this many.") var limit = 50
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            var filter = AdminQueries.CaseFilter()
            filter.procedure = procedure
            filter.status = status
            filter.agency = agency
            filter.number = number
            filter.overdue = overdue ? true : nil
            filter.limit = min(max(limit, 1), 500)
            let cases = try await options.withDatabase(configuration, logger: logger) { try await AdminQueries(client: $0).cases(filter) }
            if json { return print(cases.canonicalString) }
            print(TextTable(header: ["case", "procedure", "status", "holder", "overdue", "updated", "title"], rows: (cases.arrayValue ?? []).map { item in
                [item["caseId"], item["procedure"], item["status"], item["holder"], item["overdueDeadlines"], item["updatedAt"], item["title"]].map(TextTable.cell)
            }).rendered)
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One case: state, numbers, deadlines, audit trail.")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The case id.") var caseID: String
        @Flag(help: "JSON instead of text.") var json = false

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let (detail, events) = try await options.withDatabase(configuration, logger: logger) { client in
                (try await AdminQueries(client: client).caseDetail(caseID), try await AdminQueries(client: client).caseEvents(caseID))
            }
            guard let detail else { throw ValidationError("no case '\(caseID)'") }
            if json { return print(JSONValue.object(["case": detail, "events": events]).canonicalString) }
            print("\(caseID)  \(TextTable.cell(detail["procedure"]))  \(TextTable.cell(detail["status"]))  \(TextTable.cell(detail["title"]))")
            for (agency, number) in (detail["numbers"]?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
                print("  number  \(agency): \(TextTable.cell(number))")
            }
            print(TextTable(header: ["deadline", "obliged", "state", "due"], rows: (detail["deadlines"]?.arrayValue ?? []).map { item in
                [item["rule"], item["obligedAgency"], item["state"], item["dueAt"]].map(TextTable.cell)
            }).rendered)
            print(TextTable(header: ["seq", "outcome", "type", "source", "recorded"], rows: (events.arrayValue ?? []).map { item in
                [item["seq"], item["outcome"], item["type"], item["source"], item["recordedAt"]].map(TextTable.cell)
            }).rendered)
        }
    }
}

/// `casehub deadlines`: warning and overdue deadlines as of an instant.
struct DeadlinesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "deadlines", abstract: "Deadlines in their warning window or past due.")
    @OptionGroup var options: CommonOptions
    @Option(help: "warning or overdue (both if omitted).") var state: String?
    @Option(help: "The obliged agency or the case holder.") var agency: String?
    @Option(help: "Procedure.") var procedure: String?
    @Option(help: "As of this RFC 3339 instant (default now).") var asOf: String?
    @Flag(help: "JSON instead of a table.") var json = false

    func run() async throws {
        let logger = try options.bootstrapLogging()
        let configuration = try options.configuration()
        let stage = try state.map { text in
            guard let stage = AdminQueries.DeadlineStage(rawValue: text) else { throw ValidationError("--state is warning or overdue") }
            return stage
        }
        let instant = try asOf.map { text in
            guard let date = RFC3339.parse(text) else { throw ValidationError("--as-of needs an RFC 3339 instant, e.g. 2026-12-01T09:00:00+08:00") }
            return date
        } ?? Date()
        let items = try await options.withDatabase(configuration, logger: logger) { client in
            try await AdminQueries(client: client).deadlines(stage: stage, agency: agency, procedure: procedure, asOf: instant)
        }
        if json { return print(items.canonicalString) }
        print(TextTable(header: ["stage", "due", "case", "rule", "obliged", "title"], rows: (items.arrayValue ?? []).map { item in
            [item["stage"], item["dueAt"], item["caseId"], item["rule"], item["obligedAgency"], item["title"]].map(TextTable.cell)
        }).rendered)
    }
}

/// `casehub rejections list`.
struct RejectionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rejections", abstract: "Refused events and requests (the hub's and the adapters').",
                                                    subcommands: [List.self, Replay.self])

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send an event the hub refused through the hub again (audited with the reason; idempotent).")
        @OptionGroup var options: CommonOptions
        @Argument(help: "The rejection id (from 'rejections list').") var id: Int64
        @Option(help: "Why it may pass now; recorded in the audit trail.") var reason: String

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...1_000).contains(trimmed.count) else { throw ValidationError("--reason needs 1 to 1,000 characters") }
            let who = "cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown")
            let outcome = try await options.withDatabase(configuration, logger: logger) { client in
                try await HubStore(client: client).replayRejection(id: id, reason: trimmed, by: who, at: Date())
            }
            switch outcome {
            case .replayed(let at): print("rejection \(id) replayed at \(RFC3339.format(at)); the hub will judge it again")
            case .alreadyReplayed(let at): print("rejection \(id) was already replayed at \(RFC3339.format(at)); nothing done")
            case .notFound: throw ValidationError("no rejection \(id)")
            case .notReplayable(let why): throw ValidationError("rejection \(id) cannot be replayed: \(why)")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refusals, newest first, with reasons: the hub's and the adapters'.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Only this sender (or the agency a request claimed to be).") var agency: String?
        @Option(help: "Only this refusal code, e.g. adapter.impersonation.") var code: String?
        @Option(help: "Only refusals by the hub or by an adapter (hub, adapter).") var stage: String?
        @Option(help: "At most this many.") var limit = 50
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            var filter = AdminQueries.RejectionFilter()
            filter.agency = agency
            filter.code = code
            filter.stage = try stage.map { text in
                guard let stage = RejectionStage(rawValue: text) else { throw ValidationError("--stage is hub or adapter") }
                return stage
            }
            filter.limit = min(max(limit, 1), 500)
            let items = try await options.withDatabase(configuration, logger: logger) { client in
                try await AdminQueries(client: client).rejections(filter)
            }
            if json { return print(items.canonicalString) }
            print(TextTable(header: ["id", "received", "stage", "source", "as", "token", "case", "code", "reason"], rows: (items.arrayValue ?? []).map { item in
                [item["id"], item["receivedAt"], item["stage"], item["source"], item["claimedAgency"], item["tokenId"], item["caseId"],
                 item["code"], item["reason"]].map(TextTable.cell)
            }).rendered)
        }
    }
}

/// Columns aligned by display width: a Chinese character takes two columns.
struct TextTable {
    let header: [String]
    let rows: [[String]]

    static func cell(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: text
        case .integer(let number)?: String(number)
        case .number(let number)?: String(number)
        case .bool(let flag)?: flag ? "yes" : "no"
        case nil, .null?: "-"
        case let other?: other.canonicalString
        }
    }

    static func width(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { total, scalar in
            // East Asian wide and full-width ranges (CJK, kana, hangul, full-width forms).
            let wide = (0x1100...0x115F).contains(scalar.value) || (0x2E80...0xA4CF).contains(scalar.value)
                || (0xAC00...0xD7A3).contains(scalar.value) || (0xF900...0xFAFF).contains(scalar.value)
                || (0xFE30...0xFE4F).contains(scalar.value) || (0xFF00...0xFF60).contains(scalar.value) || (0xFFE0...0xFFE6).contains(scalar.value)
            return total + (wide ? 2 : 1)
        }
    }

    var rendered: String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { Self.width($0[column]) }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { column, text in
                column == row.count - 1 ? text : text + String(repeating: " ", count: widths[column] - Self.width(text))
            }.joined(separator: "  ")
        }.joined(separator: "\n") + (rows.isEmpty ? "\n(none)" : "")
    }
}
