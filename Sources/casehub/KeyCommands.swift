import Adapters
import ArgumentParser
import CaseHubServer
import CaseModel
import Crypto
import Foundation
import HubStore

/// `casehub keys …`: the agencies' Ed25519 signing keys. The hub verifies an
/// agency's events only with keys an administrator registered or approved
/// here; an adapter only proposes its key. Every change is audited.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "The agencies' signing keys: list, register or approve, rotate, retire (each audited).",
        subcommands: [List.self, Approve.self, Register.self, Generate.self, Rotate.self, Retire.self, Show.self])

    struct AgencyOption: ParsableArguments {
        @Option(help: "The agency id, e.g. zz-epb.")
        var agency: String
    }

    struct KeyDirectory: ParsableArguments {
        @Option(help: "Folder holding the adapter's private keys (as given to 'casehub adapter').")
        var keyDir: String = ".local/adapter-keys"
    }

    struct Audited: ParsableArguments {
        @Option(help: "Why; kept in the audit entry (up to 1,000 characters).")
        var reason: String?

        func validated() throws -> String? {
            guard let reason else { return nil }
            let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
            guard (1...1_000).contains(trimmed.count) else { throw ValidationError("--reason needs 1 to 1,000 characters") }
            return trimmed
        }
    }

    /// A key id as `casehub keys list` prints it: 16 hex digits.
    static func keyID(_ text: String) throws -> String {
        let id = text.lowercased()
        guard id.count == 16, id.allSatisfy(\.isHexDigit) else {
            throw ValidationError("--key takes a key id of 16 hex digits, as 'casehub keys list' shows it; got '\(text.prefix(40))'")
        }
        return id
    }

    static func report(_ change: AgencyKeyStore.KeyChange, done: String) {
        switch change {
        case .done: print(done)
        case .unchanged(let why): print("nothing done: \(why)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Every key with its status: proposed (by an adapter; verifies nothing yet), active, retired.")
        @OptionGroup var options: CommonOptions
        @Option(help: "Only this agency's keys.") var agency: String?
        @Option(help: "Only keys with this status: proposed, active, retired.") var status: String?
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            let wanted = try status.map { text in
                guard let status = AgencyKeyStore.Status(rawValue: text) else { throw ValidationError("--status is proposed, active or retired") }
                return status
            }
            let logger = try options.bootstrapLogging()
            let configuration = try options.configuration()
            let agencyID = try agency.map(configuration.registry.require)
            let records = try await options.withDatabase(configuration, logger: logger) { client in
                try await AgencyKeyStore(client: client).records(of: agencyID)
            }.filter { wanted == nil || $0.status == wanted }
            if json { return print(JSONValue.array(records.map(Self.json)).canonicalString) }
            print(TextTable(header: ["agency", "key", "status", "proposed by", "registered by", "registered", "retired by", "retired"],
                            rows: records.map { record in
                [record.agency.rawValue, record.keyID, record.status.rawValue, record.proposedBy ?? "-", record.registeredBy ?? "-",
                 record.registeredAt.map(RFC3339.format) ?? "-", record.retiredBy ?? "-", record.retiredAt.map(RFC3339.format) ?? "-"]
            }).rendered)
        }

        static func json(_ record: AgencyKeyStore.KeyRecord) -> JSONValue {
            func time(_ date: Date?) -> JSONValue { date.map { .string(RFC3339.format($0)) } ?? .null }
            func text(_ value: String?) -> JSONValue { value.map(JSONValue.string) ?? .null }
            return .object([
                "agency": .string(record.agency.rawValue), "keyId": .string(record.keyID), "status": .string(record.status.rawValue),
                "publicKey": .string(Data(record.publicKey).base64EncodedString()),
                "proposedAt": time(record.proposedAt), "proposedBy": text(record.proposedBy),
                "registeredAt": time(record.registeredAt), "registeredBy": text(record.registeredBy),
                "retiredAt": time(record.retiredAt), "retiredBy": text(record.retiredBy),
            ])
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a key an adapter proposed (check its id with the agency first): the hub verifies with it from now on.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var agency: AgencyOption
        @Option(help: "The key id (16 hex digits) from 'casehub keys list'.") var key: String
        @OptionGroup var audited: Audited

        func run() async throws {
            let keyID = try KeysCommand.keyID(key)
            let reason = try audited.validated()
            let change = try await options.withAgency(agency.agency) { agency, client in
                try await AgencyKeyStore(client: client).approve(agency: agency, keyID: keyID, by: .commandLine, reason: reason)
            }
            KeysCommand.report(change, done: "\(agency.agency)\tkey \(keyID) approved: the hub verifies its events with it")
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a public key received from the agency out of band (base64 of the 32-byte Ed25519 public key).")
        @OptionGroup var options: CommonOptions
        @OptionGroup var agency: AgencyOption
        @Option(help: "The public key, base64 (as 'casehub keys show' prints it on the adapter's host).") var publicKey: String
        @OptionGroup var audited: Audited

        func run() async throws {
            guard let raw = Data(base64Encoded: publicKey.trimmingCharacters(in: .whitespaces)),
                  let key = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else {
                throw ValidationError("--public-key takes base64 of a 32-byte Ed25519 public key")
            }
            let reason = try audited.validated()
            let change = try await options.withAgency(agency.agency) { agency, client in
                try await AgencyKeyStore(client: client).register(agency: agency, publicKey: key, by: .commandLine, reason: reason)
            }
            KeysCommand.report(change, done: "\(agency.agency)\tkey \(EventSignature.keyID(of: key)) registered")
        }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an agency's first key in the key folder and register its public half.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var agency: AgencyOption
        @OptionGroup var folder: KeyDirectory

        func run() async throws {
            let publicKey = try await options.withAgency(agency.agency) { agency, client in
                try await SigningKeys.generate(agency: agency, directory: URL(fileURLWithPath: folder.keyDir), store: AgencyKeyStore(client: client),
                                               by: .commandLine)
            }
            print("\(agency.agency)\tkey \(EventSignature.keyID(of: publicKey))\tpublic \(publicKey.rawRepresentation.base64EncodedString())")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give an agency a new key and retire its others now (they still verify events signed before).",
            discussion: """
                With --key-dir (on the adapter's host) a new key is written there and registered; a running adapter \
                uses it from its next event. With --to, the agency moves to a key its adapter proposed.
                """)
        @OptionGroup var options: CommonOptions
        @OptionGroup var agency: AgencyOption
        @Option(help: "Folder holding the adapter's private keys: a new key is made there.") var keyDir: String?
        @Option(help: "A key id (16 hex digits) the adapter proposed, instead of a new key.") var to: String?
        @OptionGroup var audited: Audited

        func run() async throws {
            let reason = try audited.validated()
            let target = try to.map(KeysCommand.keyID)
            guard (keyDir == nil) != (target == nil) else { throw ValidationError("give either --key-dir (a new key) or --to KEY-ID (a proposed key)") }
            let (keyID, retired) = try await options.withAgency(agency.agency) { agency, client -> (String, [String]) in
                let store = AgencyKeyStore(client: client)
                if let target { return try await store.rotate(agency: agency, to: .proposed(keyID: target), by: .commandLine, reason: reason) }
                let rotated = try await SigningKeys.rotate(agency: agency, directory: URL(fileURLWithPath: keyDir!), store: store,
                                                           by: .commandLine, reason: reason)
                return (EventSignature.keyID(of: rotated.key), rotated.retired)
            }
            print("\(agency.agency)\tnew key \(keyID)\tretired \(retired.isEmpty ? "none" : retired.joined(separator: ", "))"
                  + (keyDir == nil ? "" : " (a running adapter uses it from its next event)"))
        }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Retire a key now (a proposed one is rejected): it verifies nothing signed after, and is never approved again.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var agency: AgencyOption
        @Option(help: "The key id (16 hex digits) from 'casehub keys list'.") var key: String
        @OptionGroup var audited: Audited

        func run() async throws {
            let keyID = try KeysCommand.keyID(key)
            let reason = try audited.validated()
            let (change, active) = try await options.withAgency(agency.agency) { agency, client in
                let store = AgencyKeyStore(client: client)
                let change = try await store.retire(agency: agency, keyID: keyID, by: .commandLine, reason: reason)
                return (change, try await store.records(of: agency).filter { $0.status == .active }.count)
            }
            KeysCommand.report(change, done: "\(agency.agency)\tkey \(keyID) retired")
            if active == 0 { print("warning: \(agency.agency) has no active key now: the hub refuses its events until one is approved or registered") }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "An agency's keys with their status, and which one its key file holds.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var agency: AgencyOption
        @OptionGroup var folder: KeyDirectory

        func run() async throws {
            let (agency, records) = try await options.withAgency(agency.agency) { agency, client in
                (agency, try await AgencyKeyStore(client: client).records(of: agency))
            }
            let local = try SigningKeys.publicKey(agency: agency, directory: URL(fileURLWithPath: folder.keyDir))
            let localID = local.map(EventSignature.keyID(of:))
            if records.isEmpty { print("\(agency) has no proposed or registered key") }
            for record in records {
                let state = switch record.status {
                case .active: "active"
                case .proposed: "proposed, not approved"
                case .retired: "retired \(record.retiredAt.map(RFC3339.format) ?? "")"
                }
                print("\(record.keyID)\t\(state)\(record.keyID == localID ? "\t(in \(folder.keyDir))" : "")")
            }
            if let local, let localID {
                switch records.first(where: { $0.keyID == localID })?.status {
                case .active?: break
                case .proposed?, nil:
                    print("\(localID)\tin \(folder.keyDir), NOT approved: an administrator runs 'casehub keys approve --agency \(agency) --key \(localID)'"
                          + " or 'casehub keys register --agency \(agency) --public-key \(local.rawRepresentation.base64EncodedString())'")
                case .retired?:
                    print("\(localID)\tin \(folder.keyDir) is RETIRED: 'casehub keys rotate --agency \(agency) --key-dir \(folder.keyDir)'")
                }
            }
        }
    }
}

extension AdministrativeActor {
    /// An administrator at the command line, named by the login running it.
    static var commandLine: AdministrativeActor {
        .administrator("cli:" + (ProcessInfo.processInfo.environment["USER"] ?? "unknown"))
    }
}
