import Dispatch
public import Logging
import NIOConcurrencyHelpers
public import ServiceLifecycle
import Synchronization

/// Produces messages and reports each one's delivery.
///
/// Idempotent by default. ``send(_:)`` returns once the broker has
/// acknowledged the message (or librdkafka gave up on it); ``sendBatch(_:)``
/// does the same for many messages with one suspension. Delivery reports are
/// read by a poll thread this producer owns.
///
/// As a `Service` it lives until graceful shutdown and then flushes and shuts
/// down: register it in the `ServiceGroup` before the services that send
/// through it, so that it stops after them (services stop in reverse order).
public final class KafkaProducer: Service, Sendable {
    private let producer: RDKafkaProducer
    private let configuration: KafkaProducerConfiguration
    private let pending = NIOLockedValueBox(PendingDeliveries())
    private let pollThread = NIOLockedValueBox<PollThread?>(nil)
    private let blockingQueue = DispatchQueue(label: "casehub.kafka.producer.blocking")
    private let isShutDown = Atomic<Bool>(false)

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.producer = try RDKafkaProducer(properties: configuration.librdkafkaProperties(), logger: logger)
        let producer = self.producer
        let pending = self.pending
        // Delivery reports, logs and errors all arrive on the producer's main queue.
        pollThread.withLockedValue {
            $0 = PollThread(name: "casehub.kafka.producer.poll") {
                Self.pollOnce(producer, pending: pending)
            }
        }
    }

    deinit {
        pollThread.withLockedValue { $0?.stop() }
    }

    /// Sends one message; returns where it landed.
    public func send(_ message: KafkaOutgoingMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        let results = try await sendBatch([message])
        return try results[0].get()
    }

    /// Sends many messages at once. The result at index `i` is the delivery of
    /// `messages[i]`. Throws only when the producer cannot accept messages at
    /// all (shut down, fatal error); per-message failures are in the results.
    ///
    /// With `keepingKeyOrder`, a message that librdkafka refuses at once (too
    /// large, say) keeps the later messages with the same key from being sent:
    /// they fail as retriable, so that none overtakes it.
    public func sendBatch(_ messages: [KafkaOutgoingMessage], keepingKeyOrder: Bool = false) async throws(KafkaError) -> [Result<KafkaDeliveryReport, KafkaError>] {
        if messages.isEmpty { return [] }
        guard !isShutDown.load(ordering: .acquiring) else {
            throw KafkaError(.closed, "the producer is shut down")
        }
        let batch = DeliveryBatch(count: messages.count)
        await enqueue(messages, into: batch, keepingKeyOrder: keepingKeyOrder)
        do {
            return try await withCheckedThrowingContinuation { batch.setContinuation($0) }
        } catch let error as KafkaError {
            throw error
        } catch {
            throw KafkaError(.delivery, "\(error)")
        }
    }

    /// Hands messages to librdkafka, waiting whenever its local queue is full.
    private func enqueue(_ messages: [KafkaOutgoingMessage], into batch: DeliveryBatch, keepingKeyOrder: Bool) async {
        var refusedKeys = Set<[UInt8]>()
        for (index, message) in messages.enumerated() {
            if keepingKeyOrder, let key = message.key, refusedKeys.contains(key) {
                batch.complete(index: index, with: .failure(KafkaError(.delivery, "not sent: an earlier message with its key was refused", isRetriable: true)))
                continue
            }
            let token = pending.withLockedValue { $0.register(batch: batch, index: index) }
            while true {
                let outcome = producer.produce(message, token: token)
                switch outcome {
                case .enqueued:
                    break
                case .queueFull:
                    // librdkafka's queue drains as deliveries complete on the poll thread.
                    try? await Task.sleep(for: .milliseconds(2))
                    continue
                case .failed(let error):
                    if keepingKeyOrder, let key = message.key { refusedKeys.insert(key) }
                    pending.withLockedValue { _ = $0.take(token) }
                    batch.complete(index: index, with: .failure(error))
                }
                break
            }
        }
    }

    /// Waits until every message handed to librdkafka is delivered or failed.
    public func flush(timeoutMilliseconds: Int? = nil) async throws {
        let timeout = Int32(timeoutMilliseconds ?? configuration.flushTimeoutMilliseconds)
        let producer = self.producer
        try await Blocking.run(on: blockingQueue) { () throws(KafkaError) in
            try producer.flush(timeoutMilliseconds: timeout)
        }
    }

    /// Flushes, then fails whatever is still queued (each caller gets an error,
    /// so nothing is silently dropped) and stops the poll thread.
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        do {
            try await flush()
        } catch {
            producer.logger.warning("producer shutdown: \(error); failing undelivered messages")
            producer.purgeQueuedAndInFlight()
            _ = try? await flush(timeoutMilliseconds: 5_000)
        }
        let thread = pollThread.withLockedValue { $0 }
        let queue = blockingQueue
        _ = try? await Blocking.run(on: queue) { thread?.stop() }
        // Anything still pending would never get a report now.
        let leftovers = pending.withLockedValue { $0.takeAll() }
        for (batch, index) in leftovers {
            batch.complete(index: index, with: .failure(KafkaError(.closed, "the producer shut down before delivery")))
        }
    }

    /// Until graceful shutdown; then ``shutdown()`` (flush, fail the rest).
    public func run() async throws {
        try? await gracefulShutdown()
        await shutdown()
    }

    /// Number of messages librdkafka holds that are not yet delivered.
    public var outstandingCount: Int { producer.outstandingCount }

    // MARK: poll thread

    private static func pollOnce(_ producer: RDKafkaProducer, pending: NIOLockedValueBox<PendingDeliveries>) {
        do {
            try producer.poll(timeoutMilliseconds: 100) { token, result in
                guard let (batch, index) = pending.withLockedValue({ $0.take(token) }) else { return }
                batch.complete(index: index, with: result)
            }
        } catch {
            // A fatal error: fail everything pending so no caller waits forever.
            producer.logger.critical("\(error)")
            for (batch, index) in pending.withLockedValue({ $0.takeAll() }) {
                batch.complete(index: index, with: .failure(error))
            }
        }
    }
}

/// Messages handed to librdkafka and not yet reported, by opaque token.
struct PendingDeliveries {
    private var nextToken: UInt = 1
    private var entries: [UInt: (DeliveryBatch, Int)] = [:]

    mutating func register(batch: DeliveryBatch, index: Int) -> UInt {
        let token = nextToken
        nextToken &+= 1
        if nextToken == 0 { nextToken = 1 }
        entries[token] = (batch, index)
        return token
    }

    mutating func take(_ token: UInt) -> (DeliveryBatch, Int)? {
        entries.removeValue(forKey: token)
    }

    mutating func takeAll() -> [(DeliveryBatch, Int)] {
        defer { entries.removeAll() }
        return Array(entries.values)
    }
}

/// Collects the results of one ``KafkaProducer/sendBatch(_:)`` and resumes its
/// caller exactly once, when the last message is reported.
final class DeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReport, KafkaError>?]
        var remaining: Int
        var continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], any Error>?
    }
    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count, continuation: nil))
    }

    func setContinuation(_ continuation: CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], any Error>) {
        let ready: [Result<KafkaDeliveryReport, KafkaError>]? = state.withLock { state in
            if state.remaining == 0 { return state.results.map { $0! } }
            state.continuation = continuation
            return nil
        }
        if let ready { continuation.resume(returning: ready) }
    }

    func complete(index: Int, with result: Result<KafkaDeliveryReport, KafkaError>) {
        let resume: (CheckedContinuation<[Result<KafkaDeliveryReport, KafkaError>], any Error>, [Result<KafkaDeliveryReport, KafkaError>])? = state.withLock { state in
            guard case .none = state.results[index] else { return nil }
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.results.map { $0! })
        }
        if let (continuation, results) = resume { continuation.resume(returning: results) }
    }
}
