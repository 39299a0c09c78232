import CaseModel
import Kafka

/// A consumed record after the checks that need no lock (``EventScreener``).
enum ScreenedEvent: Sendable {
    /// Refused before the transaction: a broken envelope, a wrong sender, a bad signature.
    case refused(KafkaMessage, CloudEvent?, Refusal)
    /// Signed by its registered sender; still to be deduplicated and judged.
    case verified(VerifiedEvent)

    var message: KafkaMessage {
        switch self {
        case .refused(let message, _, _): message
        case .verified(let verified): verified.message
        }
    }
}

/// An event whose envelope, sender and signature hold. Its structured form's
/// canonical bytes are computed here once: they are the content hash's input
/// and the audit entry's body.
struct VerifiedEvent: Sendable {
    let message: KafkaMessage
    let event: CloudEvent
    let sender: Agency
    /// The structured-mode JSON and its canonical bytes.
    let structured: JSONValue
    let structuredBytes: [UInt8]
    /// SHA-256 of `structuredBytes`: the inbox tells a retry from a reused id by it.
    let contentHash: [UInt8]
    /// The payload against its schema; the verdict counts only once the event
    /// is known not to be a duplicate.
    let violations: [Violation]
}
