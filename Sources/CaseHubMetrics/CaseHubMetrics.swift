public import Prometheus

/// The process's Prometheus metrics (one registry per process or test
/// stack, no global state). Names follow Prometheus conventions:
/// `casehub_…_total` for counters, `_seconds` for durations.
public final class CaseHubMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    private let batchSize: ValueHistogram
    private let batchApply: DurationHistogram
    private let outboxPublished: Counter
    private let outboxBacklog: Gauge
    private let outboxParkedTotal: Counter
    private let outboxParked: Gauge
    private let consumerLag: Gauge
    private let submissionToCommit: DurationHistogram
    private let endToEnd: DurationHistogram
    private let adapterLag: Gauge
    private let impersonationAttempts: Counter
    private let deliveriesRefused: Counter

    static let latencyBuckets: [Duration] = [
        .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300),
    ]

    public init() {
        batchSize = registry.makeValueHistogram(
            descriptor: .casehub("casehub_batch_size", help: "Events per hub batch (one PostgreSQL transaction)."),
            buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000])
        batchApply = registry.makeDurationHistogram(
            descriptor: .casehub("casehub_batch_apply_seconds", help: "Time to apply one batch: screening done, transaction to commit."),
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)])
        outboxPublished = registry.makeCounter(
            descriptor: .casehub("casehub_outbox_published_total", help: "Outbox records published to Kafka."))
        outboxBacklog = registry.makeGauge(
            descriptor: .casehub("casehub_outbox_backlog", help: "Outbox records not yet published (at the last scrape)."))
        outboxParkedTotal = registry.makeCounter(
            descriptor: .casehub("casehub_outbox_parked_total",
                                 help: "Outbox records this process parked: failed for good, or waiting behind one that did."))
        outboxParked = registry.makeGauge(
            descriptor: .casehub("casehub_outbox_parked",
                                 help: "Parked outbox records waiting for an administrator to retry or discard them (at the last scrape)."))
        consumerLag = registry.makeGauge(
            descriptor: .casehub("casehub_hub_consumer_lag",
                                 help: "Messages on agency topics the hub has not committed (at the last scrape)."))
        submissionToCommit = registry.makeDurationHistogram(
            descriptor: .casehub("casehub_hub_event_latency_seconds",
                                 help: "From the sender's adapter producing an event to the hub committing its verdict."),
            buckets: Self.latencyBuckets)
        endToEnd = registry.makeDurationHistogram(
            descriptor: .casehub("casehub_end_to_end_latency_seconds",
                                 help: "From the sender's adapter producing an event to the receiver's adapter storing it in the inbox."),
            buckets: Self.latencyBuckets)
        adapterLag = registry.makeGauge(
            descriptor: .casehub("casehub_adapter_consumer_lag",
                                 help: "Messages on delivery topics this process's adapters have not committed (at the last scrape)."))
        // Served at 0 from the start, so that an alert on its increase sees the first attempt.
        impersonationAttempts = registry.makeCounter(
            descriptor: .casehub("casehub_adapter_impersonation_attempts_total",
                                 help: "Requests refused because one agency's credential was used to act as another."))
        deliveriesRefused = registry.makeCounter(
            descriptor: .casehub("casehub_deliveries_refused_total",
                                 help: "Records on agencies' delivery topics that the adapters refused: not signed by a hub key they trust."))
        for reason in AdapterRefusalUnrecorded.allCases { unrecordedCounter(reason) }
    }

    /// A record on an agency's `to.` topic that its adapter refused (not the hub's).
    public func deliveryRefused() {
        deliveriesRefused.increment()
    }

    /// A request an agency's adapter refused (a 4xx), by refusal code and the
    /// agency whose credential made it; an impersonation also counts on its own.
    public func adapterRefused(code: String, agency: String, impersonation: Bool) {
        registry.makeCounter(descriptor: .casehub("casehub_adapter_refusals_total",
                                                  help: "Requests the adapters refused (4xx), by refusal code and the credential's agency."),
                             labels: [("code", code), ("agency", agency)]).increment()
        if impersonation { impersonationAttempts.increment() }
    }

    /// Why an adapter's refusal was answered but not stored for administrators.
    public enum AdapterRefusalUnrecorded: String, CaseIterable, Sendable {
        /// Beyond the credential's agency's recording budget.
        case budget
        /// The queue to the database was full (or closed at shutdown).
        case queue
        /// The write failed.
        case database
    }

    public func adapterRefusalUnrecorded(_ reason: AdapterRefusalUnrecorded) {
        unrecordedCounter(reason).increment()
    }

    @discardableResult
    private func unrecordedCounter(_ reason: AdapterRefusalUnrecorded) -> Counter {
        registry.makeCounter(descriptor: .casehub("casehub_adapter_refusals_unrecorded_total",
                                                  help: "Adapter refusals answered but not stored in rejections, by why."),
                             labels: [("reason", reason.rawValue)])
    }

    /// Seconds from the sender's adapter producing an event to the hub's commit.
    public func submissionCommitted(after seconds: Double) {
        submissionToCommit.record(.milliseconds(Int64(max(0, seconds) * 1000)))
    }

    /// Seconds from the sender's adapter producing an event to the receiver's adapter storing it.
    public func delivered(after seconds: Double) {
        endToEnd.record(.milliseconds(Int64(max(0, seconds) * 1000)))
    }

    /// One event through the hub: accepted, refused (with the refusal code) or a duplicate.
    public func event(outcome: String, type: String, agency: String, code: String? = nil) {
        var labels = [("outcome", outcome), ("type", type), ("agency", agency)]
        if let code { labels.append(("code", code)) }
        registry.makeCounter(descriptor: .casehub("casehub_events_total", help: "Events the hub handled, by outcome, type and sender."),
                             labels: labels).increment()
    }

    /// A statutory deadline closed: `met`, `met-late` (met at or after its due instant) or `stopped`.
    public func deadlineClosed(outcome: String) {
        registry.makeCounter(descriptor: .casehub("casehub_deadlines_closed_total", help: "Statutory deadlines closed, by outcome: met, met-late or stopped."),
                             labels: [("outcome", outcome)]).increment()
    }

    public func batch(size: Int, applied duration: Duration) {
        batchSize.record(Double(size))
        batchApply.record(duration)
    }

    public func published(_ count: Int) {
        outboxPublished.increment(by: Int64(count))
    }

    public func parked(_ count: Int) {
        outboxParkedTotal.increment(by: Int64(count))
    }

    public func httpRequest(method: String, route: String, status: Int, duration: Duration) {
        let labels = [("method", method), ("route", route), ("status", String(status))]
        registry.makeCounter(descriptor: .casehub("casehub_http_requests_total", help: "HTTP requests by route and status."), labels: labels).increment()
        registry.makeDurationHistogram(
            descriptor: .casehub("casehub_http_request_seconds", help: "HTTP request durations by route (long-polls included)."),
            labels: [("route", route)],
            buckets: [.milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(500), .seconds(2), .seconds(10), .seconds(30)]).record(duration)
    }

    /// Values read from the database or the broker when scraped.
    public struct Snapshot: Sendable {
        public var outboxBacklog: Int
        public var outboxParked: Int?
        public var deadlines: [String: Int]
        public var consumerLag: Int64?
        public var adapterLag: Int64?
        public init(outboxBacklog: Int, outboxParked: Int? = nil, deadlines: [String: Int], consumerLag: Int64?, adapterLag: Int64? = nil) {
            self.outboxBacklog = outboxBacklog
            self.outboxParked = outboxParked
            self.deadlines = deadlines
            self.consumerLag = consumerLag
            self.adapterLag = adapterLag
        }
    }

    /// The text exposition as it stands, without reading scrape-time values.
    public func exposition() -> [UInt8] {
        registry.emitToBuffer()
    }

    /// The text exposition, after the scrape-time values are set.
    public func exposition(with snapshot: Snapshot) -> [UInt8] {
        outboxBacklog.set(Double(snapshot.outboxBacklog))
        if let parked = snapshot.outboxParked { outboxParked.set(Double(parked)) }
        for (stage, count) in snapshot.deadlines {
            registry.makeGauge(descriptor: .casehub("casehub_deadlines", help: "Running statutory deadlines by stage (at the last scrape)."),
                               labels: [("stage", stage)]).set(Double(count))
        }
        if let lag = snapshot.consumerLag { consumerLag.set(Double(lag)) }
        if let lag = snapshot.adapterLag { adapterLag.set(Double(lag)) }
        return registry.emitToBuffer()
    }
}

extension MetricNameDescriptor {
    /// A metric named in full (`casehub_…`, with its unit suffix) and its help text.
    static func casehub(_ fullName: String, help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: fullName, unitName: "", helpText: help)
    }
}
