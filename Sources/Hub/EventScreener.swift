import CaseModel
import CloudEventsKafka
import Crypto
import Foundation
import Kafka

/// The checks that need no database lock, run on a whole batch before its
/// transaction: the envelope, the sender (the topic names it), the
/// signature, and the payload against its schema.
struct EventScreener: Sendable {
    let topics: TopicNames
    let registry: AgencyRegistry
    let keyring: AgencyKeyring
    let catalogue: EventCatalogue
    let clock: HubClock

    /// Screens every record of the batch, in order. Throws only when the
    /// keyring cannot reach the database to reload keys. A large batch is
    /// screened in slices on every core at once: the signature check alone
    /// is about a tenth of a millisecond per event.
    func screen(_ batch: [KafkaMessage]) async throws -> [ScreenedEvent] {
        let slices = min(ProcessInfo.processInfo.activeProcessorCount, batch.count / Self.minimumSlice)
        guard slices > 1 else { return try await screen(batch[...]) }
        let size = (batch.count + slices - 1) / slices
        return try await withThrowingTaskGroup(of: (Int, [ScreenedEvent]).self) { group in
            for (index, start) in stride(from: 0, to: batch.count, by: size).enumerated() {
                group.addTask { (index, try await screen(batch[start..<min(start + size, batch.count)])) }
            }
            var parts = [[ScreenedEvent]](repeating: [], count: slices)
            for try await (index, part) in group { parts[index] = part }
            return parts.flatMap { $0 }
        }
    }

    /// Below this many records a batch is screened on one core.
    static let minimumSlice = 32

    private func screen(_ batch: ArraySlice<KafkaMessage>) async throws -> [ScreenedEvent] {
        var screened: [ScreenedEvent] = []
        screened.reserveCapacity(batch.count)
        // The hub's clock once for the slice (a retired key verifies what the hub received before its retirement).
        let receivedAt = clock.now
        for message in batch {
            switch decode(message) {
            case .failure(let refusal):
                screened.append(.refused(message, nil, refusal))
            case .success(let (event, sender)):
                // Before the inbox: a forged event must not claim a genuine event's id.
                if let failure = try await keyring.verify(event, from: sender.id, receivedAt: receivedAt) {
                    screened.append(.refused(message, event, failure.refusal))
                    continue
                }
                let structured = event.structured
                let bytes = structured.canonicalBytes
                screened.append(.verified(VerifiedEvent(
                    message: message, event: event, sender: sender, structured: structured, structuredBytes: bytes,
                    contentHash: Array(SHA256.hash(data: bytes)), violations: catalogue.validate(data: event.data, of: event.type))))
            }
        }
        return screened
    }

    /// The envelope, and its sender against the topic it came on.
    func decode(_ message: KafkaMessage) -> Result<(CloudEvent, Agency), Refusal> {
        let event: CloudEvent
        do {
            event = try message.cloudEvent()
        } catch {
            return .failure(Refusal(code: .envelopeInvalid, reason: "the event envelope is invalid: \(error)",
                                    reasonZH: "事件信封格式不正确", violations: error.violations))
        }
        guard let senderID = topics.sender(ofTopic: message.topic) else {
            return .failure(Refusal(code: .topicUnknown, reason: "topic \(message.topic) is not an agency topic", reasonZH: "未知的主题"))
        }
        guard let sender = registry[senderID] else {
            return .failure(Refusal(code: .senderUnknown, reason: "\(senderID) is not a registered agency", reasonZH: "发送机关未登记"))
        }
        guard event.source == sender.id else {
            return .failure(Refusal(
                code: .senderMismatch,
                reason: "the event declares source '\(event.source)' but arrived on \(sender.id)'s topic",
                reasonZH: "事件声明的发送机关与其所在主题的机关不一致",
                violations: [Violation(path: "/source", rule: "sender", message: "must be \(sender.id)")]))
        }
        return .success((event, sender))
    }
}
