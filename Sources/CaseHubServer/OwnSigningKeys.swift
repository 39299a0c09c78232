import Adapters
import CaseModel
import Foundation
import HubStore
import Logging

/// At an adapter's start: where each of its keys stands at the hub, said in
/// the log with what an administrator must do, and in local mode the keys
/// approved (``CaseHubConfiguration/approveOwnSigningKeys``).
struct OwnSigningKeys {
    let keys: SigningKeys
    let store: AgencyKeyStore
    let logger: Logger

    func settle(approving: Bool) async throws {
        for agency in keys.agencies {
            guard let publicKey = keys.publicKey(of: agency) else { continue }
            let keyID = EventSignature.keyID(of: publicKey)
            let metadata: Logger.Metadata = ["agency": "\(agency)", "key.id": "\(keyID)", "key.dir": "\(keys.directory.path)"]
            switch try await store.record(agency: agency, keyID: keyID)?.status {
            case .active?:
                logger.info("signing key active", metadata: metadata)
            case .proposed?, nil:
                if approving {
                    // Local mode: an explicit administrator step, audited as such.
                    _ = try await store.approve(agency: agency, keyID: keyID, by: .localStack,
                                                reason: "local mode: the stack approves the keys it generated itself")
                    logger.notice("local mode: signing key approved as administrator \(AdministrativeActor.localStack.name)", metadata: metadata)
                } else {
                    logger.warning("""
                        signing key proposed, not yet approved: the hub refuses this agency's events (signature.unknown-key) until an \
                        administrator checks the key id and runs 'casehub keys approve --agency \(agency) --key \(keyID)'
                        """, metadata: metadata)
                }
            case .retired?:
                let advice = "the hub refuses events signed with it; give the adapter a new key: 'casehub keys rotate --agency \(agency) --key-dir \(keys.directory.path)'"
                if approving { throw KeyAdministrationError.retiredOwnKey(agency: agency, keyID: keyID, advice: advice) }
                logger.error("signing key is retired: \(advice)", metadata: metadata)
            }
        }
    }
}

extension KeyAdministrationError {
    static func retiredOwnKey(agency: AgencyID, keyID: String, advice: String) -> KeyAdministrationError {
        KeyAdministrationError(description: "the key \(keyID) of \(agency) in the key folder is retired: \(advice)")
    }
}
