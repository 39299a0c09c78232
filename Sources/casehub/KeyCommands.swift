import Adapters
import ArgumentParser
import CaseHubServer
import CaseModel
import Crypto
import Foundation
import HubStore

/// `casehub keys generate|rotate|show`: an agency's Ed25519 signing key.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage the agencies' signing keys (private key in a file, public key registered with the hub).",
        subcommands: [Generate.self, Rotate.self, Show.self])

    struct KeyOptions: ParsableArguments {
        @Option(help: "The agency id, e.g. zz-epb.")
        var agency: String

        @Option(help: "Folder holding the adapter's private keys (as given to 'casehub adapter').")
        var keyDir: String = ".local/adapter-keys"
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an agency's first key and register its public half.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var key: KeyOptions

        func run() async throws {
            let (agency, publicKey) = try await options.withAgency(key.agency) { agency, client in
                (agency, try await SigningKeys.generate(agency: agency, directory: URL(fileURLWithPath: key.keyDir), store: AgencyKeyStore(client: client)))
            }
            print("\(agency)\tkey \(EventSignature.keyID(of: publicKey))\tpublic \(publicKey.rawRepresentation.base64EncodedString())")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Replace an agency's key; the old one is retired now and still verifies events signed before.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var key: KeyOptions

        func run() async throws {
            let (agency, publicKey) = try await options.withAgency(key.agency) { agency, client in
                (agency, try await SigningKeys.rotate(agency: agency, directory: URL(fileURLWithPath: key.keyDir), store: AgencyKeyStore(client: client)))
            }
            print("\(agency)\tnew key \(EventSignature.keyID(of: publicKey)) (a running adapter uses it from its next event)")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List an agency's registered keys and which one its key file holds.")
        @OptionGroup var options: CommonOptions
        @OptionGroup var key: KeyOptions

        func run() async throws {
            let (agency, registered) = try await options.withAgency(key.agency) { agency, client in
                (agency, try await AgencyKeyStore(client: client).keys(of: agency))
            }
            let local = try SigningKeys.publicKey(agency: agency, directory: URL(fileURLWithPath: key.keyDir)).map(EventSignature.keyID(of:))
            if registered.isEmpty { print("\(agency) has no registered key") }
            for entry in registered {
                let state = entry.retiredAt.map { "retired \(RFC3339.format($0))" } ?? "active"
                print("\(entry.keyID)\t\(state)\(entry.keyID == local ? "\t(in \(key.keyDir))" : "")")
            }
            if let local, !registered.contains(where: { $0.keyID == local }) {
                print("\(local)\tin \(key.keyDir) but NOT registered: run 'casehub keys rotate' or start the adapter")
            }
        }
    }
}
