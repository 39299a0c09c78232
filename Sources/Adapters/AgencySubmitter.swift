public import CaseModel
import CloudEventsKafka
import Crypto
import Foundation
public import HubStore
public import Kafka
public import Logging

/// What the agencies' submission routes need of ``AgencySubmitter``: a seam,
/// so that the HTTP layer can be tested without a broker or a database.
public protocol AgencySubmitting: Sendable {
    /// Canonical events in CloudEvents structured JSON: one, or an array. Returns their ids.
    func submit(documents json: JSONValue, from agency: AgencyID, logger: Logger) async throws -> [EventID]
    /// One native record of the agency's system, mapped and submitted.
    func submitRecord(_ bytes: [UInt8], isXML: Bool, from agency: AgencyID, logger: Logger) async throws -> AgencySubmitter.RecordOutcome
}

/// Hands an agency's events to the hub, whichever way they came (HTTP events,
/// HTTP native records, the file drop): validated against the schemas,
/// their ids claimed (same content again is a retry, other content a
/// conflict), signed with the agency's key, produced to `from.<agency>` and
/// acknowledged by the broker. Nothing is published unless every event passes.
///
/// A refusal is a ``SubmissionError`` (what is wrong and where); how the
/// submission came decides how it is answered. Database and broker client
/// failures propagate unchanged.
public struct AgencySubmitter: AgencySubmitting {
    let registry: AgencyRegistry
    let topics: TopicNames
    let producer: KafkaProducer
    let signingKeys: SigningKeys
    let submissions: SubmissionStore
    let mappings: NativeMappings
    public var limits = AdapterLimits()

    public init(registry: AgencyRegistry, topics: TopicNames, producer: KafkaProducer, signingKeys: SigningKeys,
                submissions: SubmissionStore, mappings: NativeMappings) {
        self.registry = registry
        self.topics = topics
        self.producer = producer
        self.signingKeys = signingKeys
        self.submissions = submissions
        self.mappings = mappings
    }

    /// Canonical events in CloudEvents structured JSON: one, or an array.
    /// Returns their ids. Throws ``SubmissionError`` for a refusal (nothing published).
    public func submit(documents json: JSONValue, from agency: AgencyID, logger: Logger) async throws -> [EventID] {
        let isBatch: Bool
        let documents: [JSONValue]
        if case .array(let items) = json {
            isBatch = true
            documents = items
        } else {
            isBatch = false
            documents = [json]
        }
        guard !documents.isEmpty else { throw SubmissionError.emptyBatch }
        guard documents.count <= limits.maxEventsPerBatch else { throw SubmissionError.batchTooLarge(limit: limits.maxEventsPerBatch) }
        try limits.checkStrings(in: json)
        try AdapterLimits.checkStorable(json)
        var events: [CloudEvent] = []
        var violations: [Violation] = []
        // Another registered agency named as the source: an attempt to act as it.
        var impersonated: AgencyID?
        for (index, document) in documents.enumerated() {
            let prefix = isBatch ? "/\(index)" : ""
            do {
                let event = try CloudEvent(structured: document)
                if event.source != agency {
                    violations.append(Violation(path: prefix + "/source", rule: "sender",
                                                message: "source must be '\(agency)', the agency of this path"))
                    if impersonated == nil && registry[event.source] != nil { impersonated = event.source }
                }
                violations += EventCatalogue.standard.validate(data: event.data, of: event.type).map {
                    Violation(path: prefix + $0.path, rule: $0.rule, message: $0.message)
                }
                events.append(event)
            } catch {
                violations += error.violations.map { Violation(path: prefix + $0.path, rule: $0.rule, message: $0.message) }
            }
        }
        guard violations.isEmpty else {
            throw impersonated.map { SubmissionError.impersonation(of: $0, violations: violations) } ?? .invalidEvents(violations)
        }
        try await publish(events, from: agency, pathPrefix: { isBatch ? "/\($0)" : "" }, logger: logger)
        return events.map(\.id)
    }

    /// What a native record became.
    public struct RecordOutcome: Sendable {
        public let recordType: String
        public let label: String
        public let event: CloudEvent?
        public let note: String?

        public init(recordType: String, label: String, event: CloudEvent?, note: String?) {
            self.recordType = recordType
            self.label = label
            self.event = event
            self.note = note
        }

        public var json: JSONValue {
            var record: [String: JSONValue] = ["type": .string(recordType), "label": .string(label)]
            record["note"] = note.map(JSONValue.string)
            return .object([
                "record": .object(record),
                "events": .array(event.map { [.object(["id": .string($0.id.description), "type": .string($0.type.rawValue), "subject": .string($0.subject)])] } ?? []),
            ])
        }
    }

    /// One native record (JSON object, or flat XML), mapped by the table of
    /// the agency's kind, then submitted like an event. Throws
    /// ``SubmissionError`` for a refusal (nothing published).
    public func submitRecord(_ bytes: [UInt8], isXML: Bool, from agency: AgencyID, logger: Logger) async throws -> RecordOutcome {
        guard let sender = registry[agency], let mapping = mappings[sender.kind] else {
            throw SubmissionError.noNativeMapping(kind: registry[agency]?.kind)
        }
        let record: [String: JSONValue]
        do {
            if isXML {
                record = try NativeRecordReader.xml(bytes)
            } else {
                let json: JSONValue
                do {
                    json = try JSONValue.parse(bytes)
                } catch {
                    throw SubmissionError.malformedJSON(reason: "\(error)")
                }
                record = try NativeRecordReader.json(json)
            }
        } catch let error as NativeRecordError {
            throw SubmissionError.malformedRecord(format: isXML ? .xml : .json, violations: error.violations)
        }
        try limits.checkStrings(in: .object(record))
        try AdapterLimits.checkStorable(.object(record))
        let mapped: NativeMapping.Mapped
        do {
            mapped = try mapping.map(record, from: sender, registry: registry, now: Date())
        } catch {
            throw SubmissionError.invalidRecord(error.violations)
        }
        let outcome = RecordOutcome(recordType: mapped.recordType, label: mapped.rule.label, event: mapped.event, note: mapped.rule.note)
        guard let event = mapped.event else { return outcome }
        // The mapped event must pass the same schema check as one sent as an event.
        let violations = EventCatalogue.standard.validate(data: event.data, of: event.type)
        guard violations.isEmpty else {
            throw SubmissionError.invalidMappedEvent(
                type: event.type, violations: violations.map { Violation(path: "/(\(event.type))" + $0.path, rule: $0.rule, message: $0.message) })
        }
        try await publish([event], from: agency, pathPrefix: { _ in "" }, logger: logger)
        return outcome
    }

    private func publish(_ events: [CloudEvent], from agency: AgencyID, pathPrefix: (Int) -> String, logger: Logger) async throws {
        // An id is the agency's promise about content: the same content again
        // is a harmless retry, other content a conflict (nothing is published).
        let claims = try await submissions.claim(agency: agency, events.map {
            (eventID: $0.id.uuid, contentHash: Array(SHA256.hash(data: $0.structured.canonicalBytes)))
        })
        let conflicts = zip(events, claims).enumerated().filter { $0.element.1 == .conflicting }
        guard conflicts.isEmpty else {
            throw SubmissionError.idReused(conflicts.map { index, pair in
                Violation(path: pathPrefix(index) + "/id", rule: "unique", message: "id \(pair.0.id) was already used for other content")
            })
        }
        // The adapter vouches for its agency: every event leaves signed with the agency's key.
        let messages = try events.map { KafkaOutgoingMessage(topic: topics.from(agency), event: try signingKeys.sign($0)) }
        let results = try await producer.sendBatch(messages)
        let failures = results.compactMap { result -> KafkaError? in
            if case .failure(let error) = result { return error }
            return nil
        }
        if let failure = failures.first {
            logger.error("publishing to the hub failed", metadata: ["casehub.agency": "\(agency)", "error": "\(failure)"])
            throw SubmissionError.hubUnavailable(failed: failures.count, total: events.count)
        }
    }
}
