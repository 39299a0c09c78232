import CRdKafka
import Dispatch
import Logging
import NIOConcurrencyHelpers
import Synchronization

/// Produces messages and reports each one's delivery.
///
/// Idempotent by default. ``send(_:)`` returns once the broker has
/// acknowledged the message (or librdkafka gave up on it); ``sendBatch(_:)``
/// does the same for many messages with one suspension. Delivery reports are
/// read by a poll thread this producer owns.
public final class KafkaProducer: Sendable {
    private let client: RDKafkaClient
    private let configuration: KafkaProducerConfiguration
    private let pending = NIOLockedValueBox(PendingDeliveries())
    private let pollThread = NIOLockedValueBox<PollThread?>(nil)
    private let blockingQueue = DispatchQueue(label: "casehub.kafka.producer.blocking")
    private let isShutDown = Atomic<Bool>(false)
    private let mainQueue: QueueHandle

    public init(configuration: KafkaProducerConfiguration, logger: Logger) throws(KafkaError) {
        self.configuration = configuration
        self.client = try RDKafkaClient(
            kind: .producer,
            properties: configuration.librdkafkaProperties(),
            events: RD_KAFKA_EVENT_DR,
            logger: logger
        )
        let client = self.client
        let pending = self.pending
        // Delivery reports, logs and errors all arrive on the main queue.
        let mainQueue = QueueHandle(rd_kafka_queue_get_main(client.handle)!)
        self.mainQueue = mainQueue
        pollThread.withLockedValue {
            $0 = PollThread(name: "casehub.kafka.producer.poll") {
                Self.pollOnce(queue: mainQueue.pointer, client: client, pending: pending)
            }
        }
    }

    deinit {
        pollThread.withLockedValue { $0?.stop() }
        rd_kafka_queue_destroy(mainQueue.pointer)
    }

    /// Sends one message; returns where it landed.
    public func send(_ message: KafkaOutgoingMessage) async throws(KafkaError) -> KafkaDeliveryReport {
        let results = try await sendBatch([message])
        return try results[0].get()
    }

    /// Sends many messages at once. The result at index `i` is the delivery of
    /// `messages[i]`. Throws only when the producer cannot accept messages at
    /// all (shut down, fatal error); per-message failures are in the results.
    public func sendBatch(_ messages: [KafkaOutgoingMessage]) async throws(KafkaError) -> [Result<KafkaDeliveryReport, KafkaError>] {
        if messages.isEmpty { return [] }
        guard !isShutDown.load(ordering: .acquiring) else {
            throw KafkaError(.closed, "the producer is shut down")
        }
        let batch = DeliveryBatch(count: messages.count)
        await enqueue(messages, into: batch)
        do {
            return try await withCheckedThrowingContinuation { batch.setContinuation($0) }
        } catch let error as KafkaError {
            throw error
        } catch {
            throw KafkaError(.delivery, "\(error)")
        }
    }

    /// Hands messages to librdkafka, waiting whenever its local queue is full.
    private func enqueue(_ messages: [KafkaOutgoingMessage], into batch: DeliveryBatch) async {
        for (index, message) in messages.enumerated() {
            let token = pending.withLockedValue { $0.register(batch: batch, index: index) }
            while true {
                let outcome = produce(message, token: token)
                switch outcome {
                case .enqueued:
                    break
                case .queueFull:
                    // librdkafka's queue drains as deliveries complete on the poll thread.
                    try? await Task.sleep(for: .milliseconds(2))
                    continue
                case .failed(let error):
                    pending.withLockedValue { _ = $0.take(token) }
                    batch.complete(index: index, with: .failure(error))
                }
                break
            }
        }
    }

    private enum ProduceOutcome { case enqueued, queueFull, failed(KafkaError) }

    private func produce(_ message: KafkaOutgoingMessage, token: UInt) -> ProduceOutcome {
        // Ownership: headers pass to librdkafka only when produceva succeeds.
        let headers = rd_kafka_headers_new(message.headers.count)!
        for header in message.headers {
            header.value.withUnsafeBytes { bytes in
                _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
            }
        }
        let error: OpaquePointer? = message.topic.withCString { topic in
            message.value.withUnsafeBytes { value in
                withKey(message.key) { keyPointer, keyCount in
                    var fields = [rd_kafka_vu_t](repeating: rd_kafka_vu_t(), count: 6)
                    fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                    fields[0].u.cstr = topic
                    fields[1].vtype = RD_KAFKA_VTYPE_VALUE
                    fields[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                    fields[1].u.mem.size = value.count
                    fields[2].vtype = RD_KAFKA_VTYPE_KEY
                    fields[2].u.mem.ptr = UnsafeMutableRawPointer(mutating: keyPointer)
                    fields[2].u.mem.size = keyCount
                    fields[3].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                    fields[3].u.i = RD_KAFKA_MSG_F_COPY
                    fields[4].vtype = RD_KAFKA_VTYPE_HEADERS
                    fields[4].u.headers = headers
                    fields[5].vtype = RD_KAFKA_VTYPE_OPAQUE
                    fields[5].u.ptr = UnsafeMutableRawPointer(bitPattern: token)
                    return rd_kafka_produceva(client.handle, fields, fields.count)
                }
            }
        }
        guard let error else { return .enqueued }
        rd_kafka_headers_destroy(headers)
        if rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            rd_kafka_error_destroy(error)
            return .queueFull
        }
        return .failed(RDKafkaClient.consume(error: error, as: .delivery, "cannot produce to \(message.topic)"))
    }

    private func withKey<R>(_ key: [UInt8]?, _ body: (UnsafeRawPointer?, Int) -> R) -> R {
        guard let key else { return body(nil, 0) }
        return key.withUnsafeBytes { body($0.baseAddress, $0.count) }
    }

    /// Waits until every message handed to librdkafka is delivered or failed.
    public func flush(timeoutMilliseconds: Int? = nil) async throws {
        let timeout = Int32(timeoutMilliseconds ?? configuration.flushTimeoutMilliseconds)
        let client = self.client
        let code = try await Blocking.run(on: blockingQueue) { rd_kafka_flush(client.handle, timeout) }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            throw KafkaError(.timeout, "flush: \(RDKafkaClient.errorString(code))", librdkafkaCode: code.rawValue)
        }
    }

    /// Flushes, then fails whatever is still queued (each caller gets an error,
    /// so nothing is silently dropped) and stops the poll thread.
    public func shutdown() async {
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        do {
            try await flush()
        } catch {
            client.logger.warning("producer shutdown: \(error); failing undelivered messages")
            rd_kafka_purge(client.handle, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT)
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

    /// Number of messages librdkafka holds that are not yet delivered.
    public var outstandingCount: Int { Int(rd_kafka_outq_len(client.handle)) }

    // MARK: poll thread

    private static func pollOnce(queue: OpaquePointer, client: RDKafkaClient, pending: NIOLockedValueBox<PendingDeliveries>) {
        guard let event = rd_kafka_queue_poll(queue, 100) else { return }
        defer { rd_kafka_event_destroy(event) }
        if rd_kafka_event_type(event) == RD_KAFKA_EVENT_DR {
            var reports = [UnsafePointer<rd_kafka_message_t>?](repeating: nil, count: 256)
            while true {
                let count = rd_kafka_event_message_array(event, &reports, reports.count)
                if count == 0 { break }
                for report in reports.prefix(count) {
                    guard let message = report?.pointee else { continue }
                    let token = UInt(bitPattern: message._private)
                    guard let (batch, index) = pending.withLockedValue({ $0.take(token) }) else { continue }
                    let topic = String(cString: rd_kafka_topic_name(message.rkt))
                    if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
                        batch.complete(index: index, with: .success(
                            KafkaDeliveryReport(topic: topic, partition: message.partition, offset: message.offset)))
                    } else {
                        batch.complete(index: index, with: .failure(KafkaError(
                            .delivery,
                            "message to \(topic) not delivered: \(RDKafkaClient.errorString(message.err))",
                            librdkafkaCode: message.err.rawValue,
                            isRetriable: message.err == RD_KAFKA_RESP_ERR__MSG_TIMED_OUT)))
                    }
                }
            }
            return
        }
        do {
            if try !client.handleCommonEvent(event) {
                client.logger.debug("producer: ignored event \(String(cString: rd_kafka_event_name(event)))")
            }
        } catch {
            // A fatal error: fail everything pending so no caller waits forever.
            client.logger.critical("\(error)")
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
