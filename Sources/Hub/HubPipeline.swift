import CaseModel
import CaseHubMetrics
import Crypto
import Foundation
import HubStore
import Kafka
import Logging
import Postgres
import ServiceLifecycle

/// Consumes every `from.<agency>` topic, validates each event, and applies a
/// whole batch in one PostgreSQL transaction (inbox, case state, audit trail,
/// outbox) before committing the batch's Kafka offsets. A crash between the
/// two replays the batch, which the inbox absorbs.
public final class HubPipeline: Service, Sendable {
    private let configuration: HubConfiguration
    private let registry: AgencyRegistry
    private let machine: CaseMachine
    private let catalogue = EventCatalogue.standard
    private let store: HubStore
    private let consumer: KafkaConsumer
    private let relayWakeup: Wakeup
    private let keyring: AgencyKeyring
    private let metrics: CaseHubMetrics?
    private let logger: Logger

    public init(configuration: HubConfiguration, registry: AgencyRegistry, store: HubStore,
                consumer: KafkaConsumer, relayWakeup: Wakeup, keyring: AgencyKeyring, metrics: CaseHubMetrics? = nil, logger: Logger) {
        self.configuration = configuration
        self.registry = registry
        self.machine = CaseMachine(registry: registry, rules: configuration.deadlineRules)
        self.store = store
        self.consumer = consumer
        self.relayWakeup = relayWakeup
        self.keyring = keyring
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        try consumer.subscribe(topics: registry.all.map { configuration.topics.from($0.id) })
        logger.info("hub pipeline consuming", metadata: ["kafka.group": "\(configuration.groupID)", "agencies": "\(registry.all.count)"])
        // Two stages overlap: while one batch's transaction runs, the next
        // batch is fetched and screened (envelope, signature, schema: CPU
        // work that needs no lock), so the database and the CPU both stay busy.
        var current = try await fetchAndScreen()
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            async let following = fetchAndScreen()
            if !current.isEmpty {
                let started = ContinuousClock.now
                guard try await applyWithRetry(current) else {
                    _ = try? await following
                    break
                }
                let applied = ContinuousClock.now
                metrics?.batch(size: current.count, applied: applied - started)
                relayWakeup.signal()
                do {
                    try await consumer.commit(current.map(\.message))
                } catch let error as KafkaError where !error.isFatal {
                    // Offsets only save re-reading: the batch is in the database, and
                    // if it is read again (here or by the partition's next owner) the
                    // inbox absorbs it. So a lost group membership or a broker outage
                    // at commit time is a warning, not the end of the hub.
                    logger.warning("offsets not committed; the batch is applied and a re-read is absorbed", metadata: ["error": "\(error)"])
                }
                logger.debug("batch applied", metadata: [
                    "batch.size": "\(current.count)", "batch.apply": "\(applied - started)", "batch.commit": "\(ContinuousClock.now - applied)",
                ])
            }
            current = try await following
        }
        await consumer.close()
        logger.info("hub pipeline stopped")
    }

    /// The next batch (closed on size or time), screened; empty when nothing
    /// came or the hub is shutting down.
    private func fetchAndScreen() async throws -> [Screened] {
        guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return [] }
        let batch = try await consumer.nextBatch(
            maxMessages: configuration.maxBatchSize,
            maxWaitMilliseconds: configuration.maxBatchWaitMilliseconds)
        var delay = Duration.milliseconds(100)
        while true {
            do {
                return try await screen(batch)
            } catch {
                // Only the keyring's reload reaches the database here.
                if Task.isShuttingDownGracefully || Task.isCancelled { return [] }
                logger.error("screening a batch failed; retrying", metadata: ["error": "\(error)", "batch.size": "\(batch.count)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Applies until it succeeds (the database may be restarting) or the hub
    /// shuts down; returns false when it gave up because of shutdown, leaving
    /// the offsets uncommitted for the next owner.
    private func applyWithRetry(_ batch: [Screened]) async throws -> Bool {
        var delay = Duration.milliseconds(100)
        while true {
            do {
                try await applyIsolatingPoison(batch[...])
                return true
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { return false }
                logger.error("applying a batch failed; retrying", metadata: ["error": "\(error)", "batch.size": "\(batch.count)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    /// Applies a batch in one transaction. When the transaction fails for a
    /// reason that is not the database's availability, the batch is split in
    /// halves, in order, until the event that fails alone is found: it is
    /// refused on its own, and its batch-mates go through.
    func applyIsolatingPoison(_ batch: ArraySlice<Screened>) async throws {
        do {
            try await apply(batch)
        } catch let error where !Self.isInfrastructureFailure(error) {
            guard batch.count > 1 else {
                try await refuseUnprocessable(batch.first!.message, error: error)
                return
            }
            let middle = batch.startIndex + batch.count / 2
            logger.warning("a batch failed; isolating the event that fails", metadata: ["batch.size": "\(batch.count)", "error": "\(error)"])
            try await applyIsolatingPoison(batch[..<middle])
            try await applyIsolatingPoison(batch[middle...])
        }
    }

    /// Errors that say nothing about the events: retry the same batch later.
    static func isInfrastructureFailure(_ error: any Error) -> Bool {
        if let error = error as? PostgresError {
            return [.connection, .poolTimeout, .closed].contains(error.code)
                || error.sqlState.map { $0.hasPrefix("08") || $0.hasPrefix("57") || $0.hasPrefix("53") || $0 == "40001" || $0 == "40P01" } ?? false
        }
        return error is CancellationError
    }

    /// An event after the checks that need no lock: envelope, sender,
    /// signature, and its payload against the schema (whose verdict counts
    /// only once the event is known not to be a duplicate).
    enum Screened: Sendable {
        case refused(KafkaMessage, CloudEvent?, Refusal)
        case verified(KafkaMessage, CloudEvent, contentHash: [UInt8], violations: [Violation])

        var message: KafkaMessage {
            switch self {
            case .refused(let message, _, _), .verified(let message, _, _, _): message
            }
        }
    }

    func screen(_ batch: [KafkaMessage]) async throws -> [Screened] {
        var screened: [Screened] = []
        screened.reserveCapacity(batch.count)
        for message in batch {
            switch decode(message) {
            case .failure(let refusal):
                screened.append(.refused(message, nil, refusal))
            case .success(let event):
                // Before the inbox: a forged event must not claim a genuine event's id.
                if let failure = try await keyring.verify(event, from: AgencyID(rawValue: event.source)!) {
                    screened.append(.refused(message, event, failure.refusal))
                } else {
                    screened.append(.verified(message, event, contentHash: Array(SHA256.hash(data: event.structured.canonicalBytes)),
                                              violations: catalogue.validate(data: event.data, of: event.type)))
                }
            }
        }
        return screened
    }

    /// One transaction for the batch: one statement claims every event id,
    /// one locks every case named, the state machine runs in memory, and the
    /// writes go out together at commit.
    func apply(_ screened: ArraySlice<Screened>) async throws {
        let receivedAt = AuditEntry.storable(Date())
        let decided = try await store.withTransaction { transaction in
            var inboxEntries: [HubTransaction.InboxEntry] = []
            var subjects = Set<String>()
            for case .verified(_, let event, let contentHash, _) in screened {
                inboxEntries.append(.init(eventID: UUID(uuidString: event.id)!, source: event.source, contentHash: contentHash))
                subjects.insert(event.subject)
            }
            var claims = try await transaction.claimInbox(inboxEntries).makeIterator()
            var cases = CaseCache(try await transaction.lockCases(subjects))
            for item in screened {
                switch item {
                case .refused(let message, let event, let refusal):
                    refuse(message, event: event, refusal, receivedAt: receivedAt, in: &transaction)
                case .verified(let message, let event, _, let violations):
                    switch claims.next()! {
                    case .duplicate:
                        logger.debug("duplicate event absorbed", metadata: ["casehub.event_id": "\(event.id)"])
                    case .conflicting:
                        refuse(message, event: event, Refusal(
                            code: "event.id-reused",
                            reason: "event id \(event.id) was already used for an event with different content",
                            reasonZH: "事件编号已被内容不同的事件使用"), receivedAt: receivedAt, in: &transaction)
                    case .new:
                        try await accept(message, event, violations: violations, receivedAt: receivedAt, cases: &cases, in: &transaction)
                    }
                }
            }
            for state in cases.changed { transaction.saveCase(state) }
            return transaction.appended
        }
        // Counted once committed: a batch retried or bisected is not counted twice.
        if let metrics {
            let committedAt = Date()
            for item in screened {
                if let produced = item.message.timestampMilliseconds {
                    metrics.submissionCommitted(after: committedAt.timeIntervalSince1970 - Double(produced) / 1000)
                }
            }
            for entry in decided where entry.outcome != .admin {
                metrics.event(outcome: entry.outcome.rawValue, type: entry.type, agency: entry.source,
                              code: entry.outcome == .refused ? entry.body["code"]?.stringValue : nil)
            }
        }
    }

    /// The batch's cases as the state machine moves them; saved at the end.
    struct CaseCache {
        private var states: [String: CaseState]
        /// Ids looked up in the database (found or not).
        private var looked: Set<String>
        private var changedIDs: [String] = []
        private var changedSet = Set<String>()

        init(_ locked: [String: CaseState]) {
            states = locked
            looked = Set(locked.keys)
        }

        /// Changed cases, in the order they first changed.
        var changed: [CaseState] { changedIDs.map { states[$0]! } }

        func contains(_ id: String) -> Bool { looked.contains(id) || states[id] != nil }

        subscript(id: String) -> CaseState? { states[id] }

        mutating func noteLoaded(_ id: String, _ state: CaseState?) {
            looked.insert(id)
            if let state { states[id] = state }
        }

        mutating func update(_ state: CaseState) {
            if changedSet.insert(state.caseID).inserted { changedIDs.append(state.caseID) }
            states[state.caseID] = state
        }
    }

    /// An event that fails on its own (e.g. text PostgreSQL cannot store) is
    /// refused with a reason, its raw record kept; the rest of the log moves on.
    private func refuseUnprocessable(_ message: KafkaMessage, error: any Error) async throws {
        logger.error("event cannot be processed; refused", metadata: [
            "kafka.topic": "\(message.topic)", "kafka.offset": "\(message.offset)", "error": "\(error)",
        ])
        let refusal = Refusal(code: "event.unprocessable",
                              reason: "the hub could not store this event (\(String(describing: error).prefix(200))); it was refused so that others proceed",
                              reasonZH: "枢纽无法处理该事件，已拒收")
        let receivedAt = AuditEntry.storable(Date())
        let event = try? decode(message).get()
        do {
            try await store.withTransaction { transaction in
                refuse(message, event: event, refusal, receivedAt: receivedAt, in: &transaction)
            }
        } catch let failure where !Self.isInfrastructureFailure(failure) {
            // Last resort, so that one record can never stall the hub: the
            // record stays in Kafka at this offset, and the log says where.
            logger.critical("event could not even be recorded as refused; skipped", metadata: [
                "kafka.topic": "\(message.topic)", "kafka.partition": "\(message.partition)",
                "kafka.offset": "\(message.offset)", "error": "\(failure)",
            ])
        }
    }

    /// Envelope and sender checks that need no database.
    func decode(_ message: KafkaMessage) -> Result<CloudEvent, Refusal> {
        let headers = message.headers.compactMap { header in header.stringValue.map { (header.key, $0) } }
        let event: CloudEvent
        do {
            event = try CloudEvent(binaryHeaders: headers, value: message.value)
        } catch {
            return .failure(Refusal(code: "envelope.invalid", reason: "the event envelope is invalid: \(error)",
                                    reasonZH: "事件信封格式不正确", violations: error.violations))
        }
        guard let sender = configuration.topics.sender(ofTopic: message.topic) else {
            return .failure(Refusal(code: "topic.unknown", reason: "topic \(message.topic) is not an agency topic", reasonZH: "未知的主题"))
        }
        guard registry[sender] != nil else {
            return .failure(Refusal(code: "sender.unknown", reason: "\(sender) is not a registered agency", reasonZH: "发送机关未登记"))
        }
        guard event.source == sender.rawValue else {
            return .failure(Refusal(
                code: "sender.mismatch",
                reason: "the event declares source '\(event.source.prefix(80))' but arrived on \(sender)'s topic",
                reasonZH: "事件声明的发送机关与其所在主题的机关不一致",
                violations: [Violation(path: "/source", rule: "sender", message: "must be \(sender)")]))
        }
        return .success(event)
    }

    private func accept(_ message: KafkaMessage, _ event: CloudEvent, violations: [Violation], receivedAt: Date,
                        cases: inout CaseCache, in transaction: inout HubTransaction) async throws {
        guard violations.isEmpty else {
            let unknownType = catalogue[event.type] == nil
            refuse(message, event: event, Refusal(
                code: unknownType ? "type.unknown" : "schema.invalid",
                reason: unknownType ? "unknown event type \(event.type.prefix(100))" : "the payload breaks \(violations.count) rule(s) of the \(event.type) schema",
                reasonZH: unknownType ? "未知的事件类型" : "事件内容不符合数据规范", violations: violations), receivedAt: receivedAt, in: &transaction)
            return
        }
        let sender = registry[AgencyID(rawValue: event.source)!]!
        let transition: Transition
        switch machine.apply(event, by: sender, at: receivedAt, to: cases[event.subject]) {
        case .failure(let refusal):
            refuse(message, event: event, refusal, receivedAt: receivedAt, in: &transaction)
            return
        case .success(let applied):
            transition = applied
        }
        let state = transition.state
        cases.update(state)
        try await saveEffects(transition, cases: &cases, in: &transaction)
        transaction.appendAudit(
            eventID: event.id, caseID: event.subject, outcome: .accepted, type: event.type, source: event.source,
            occurredAt: event.time, recordedAt: receivedAt, caseVersion: Int64(state.version), body: event.structured)

        let topics = configuration.topics
        var outbox = transition.recipients.map { recipient in
            var record = OutboxRecord(topic: topics.to(recipient), event: event)
            // When the sender's adapter produced it, so that the receiver's adapter can measure end to end.
            if let produced = message.timestampMilliseconds {
                record.headers.append(KafkaStyleHeader(name: OutboxRecord.submittedAtHeader, value: String(produced)))
            }
            return record
        }
        outbox.append(OutboxRecord(topic: topics.to(sender.id), event: HubEvents.receipt(
            for: event.id, caseID: event.subject, sender: event.source, caseVersion: state.version,
            hubSource: configuration.hubSource, at: receivedAt)))
        outbox.append(OutboxRecord(topic: topics.changes, event: event))
        transaction.enqueue(outbox)
    }

    /// Deadlines that changed, and links to mirror on the other case.
    private func saveEffects(_ transition: Transition, cases: inout CaseCache, in transaction: inout HubTransaction) async throws {
        let state = transition.state
        var changed: [String] = []
        for effect in transition.effects {
            switch effect {
            case .deadlineStarted(let deadline): changed.append(deadline.id)
            case .deadlineMet(let id, _), .deadlineStopped(let id): changed.append(id)
            case .link(let otherID, let relation):
                // The other case is rarely in the batch: locked on demand.
                if !cases.contains(otherID) { cases.noteLoaded(otherID, try await transaction.lockCase(otherID)) }
                if var other = cases[otherID] {
                    let link = CaseLink(caseID: state.caseID, relation: relation)
                    if !other.links.contains(link) {
                        other.links.append(link)
                        cases.update(other)
                    }
                }
            case .notify:
                break
            }
        }
        transaction.saveDeadlines(caseID: state.caseID, changed.compactMap { state.deadlines[$0] })
    }

    /// Text PostgreSQL can store (no NUL), cut to a length.
    static func storable(_ text: String, limit: Int) -> String {
        String(String(text.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }.map(Character.init)).prefix(limit))
    }

    private func refuse(_ message: KafkaMessage, event: CloudEvent?, _ refusal: Refusal, receivedAt: Date, in transaction: inout HubTransaction) {
        let sender = configuration.topics.sender(ofTopic: message.topic)
        let headerText = message.headers.map {
            KafkaStyleHeader(name: Self.storable($0.key, limit: 200), value: $0.stringValue.map { Self.storable($0, limit: 10_000) } ?? "<binary>")
        }
        // From a refused envelope only what fits is kept: these end up in ids, keys and text columns.
        let eventID = (event?.id ?? message.header("ce_id")?.stringValue).map { Self.storable($0, limit: 64) }
        let caseID = (event?.subject ?? message.header("ce_subject")?.stringValue).map { Self.storable($0, limit: 128) }.flatMap { $0.isEmpty ? nil : $0 }
        let type = (event?.type ?? message.header("ce_type")?.stringValue).map { Self.storable($0, limit: 200) }
        var refusal = refusal
        refusal.reason = Self.storable(refusal.reason, limit: 4_000)
        logger.info("event refused", metadata: [
            "casehub.event_id": "\(eventID ?? "-")", "casehub.agency": "\(sender?.rawValue ?? "-")", "casehub.refusal": "\(refusal.code)",
        ])
        transaction.recordRejection(RejectionRecord(
            eventID: eventID, source: sender?.rawValue, topic: message.topic, caseID: caseID, type: type,
            code: refusal.code, reason: refusal.reason, violations: refusal.violationsJSON,
            headers: headerText, value: message.value))
        transaction.appendAudit(
            eventID: eventID, caseID: caseID, outcome: .refused, type: type ?? "unknown", source: sender?.rawValue ?? "unknown",
            occurredAt: event?.time ?? receivedAt, recordedAt: receivedAt, caseVersion: nil,
            body: .object(["code": .string(refusal.code), "reason": .string(refusal.reason), "reasonZH": .string(refusal.reasonZH),
                           "violations": refusal.violationsJSON]))

        var outbox: [OutboxRecord] = []
        let key = caseID ?? sender?.rawValue ?? "unknown"
        if let sender, registry[sender] != nil {
            outbox.append(OutboxRecord(topic: configuration.topics.to(sender), event: HubEvents.receipt(
                for: eventID ?? "unknown", caseID: key, sender: sender.rawValue, refusal: refusal,
                hubSource: configuration.hubSource, at: receivedAt)))
        }
        // The refused record itself, with the reason in headers, for administrators.
        outbox.append(OutboxRecord(
            topic: configuration.topics.rejected, key: key,
            headers: headerText + [KafkaStyleHeader(name: "casehub_refusal_code", value: refusal.code),
                                   KafkaStyleHeader(name: "casehub_refusal_reason", value: refusal.reason)],
            value: message.value))
        transaction.enqueue(outbox)
    }
}
