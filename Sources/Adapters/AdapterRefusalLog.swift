public import CaseHubMetrics
import CaseModel
public import HubStore
public import Logging
public import ServiceLifecycle

/// Where ``AdapterRefusalLog`` writes: a seam over ``AdapterRejectionStore``,
/// so that a failing database can be tested without one.
public protocol AdapterRejectionWriting: Sendable {
    func record(_ rejection: AdapterRejection) async throws
}

extension AdapterRejectionStore: AdapterRejectionWriting {}

/// Keeps the adapters' refusals for administrators without holding up the
/// answers: ``record(_:)`` counts and logs a refusal and queues it, and the
/// service writes the queue to `rejections` one row at a time.
///
/// Nothing here can turn a refusal into another answer or slow it: a full
/// queue, a refusal beyond its agency's recording budget, or a failed write
/// is logged and counted (`casehub_adapter_refusals_unrecorded_total`), and
/// the caller has had its 4xx anyway. The budget is per agency whose
/// credential made the request (an ``AgencyRateLimiter``), so that one
/// agency's system, or a leaked token, cannot fill the table; it also bounds
/// impersonations, which are refused before the agency's request budget.
public final class AdapterRefusalLog: Service, AdapterRefusalRecording {
    /// Rows per second an agency's refusals may add, sustained, and at once.
    public static let recordsPerSecond = 5.0
    public static let recordsBurst = 50.0
    /// Refusals waiting for the database.
    public static let queueCapacity = 1_000

    private let writer: any AdapterRejectionWriting
    private let metrics: CaseHubMetrics
    private let logger: Logger
    private let budget: AgencyRateLimiter
    private let queue: AsyncStream<AdapterRejection>
    private let continuation: AsyncStream<AdapterRejection>.Continuation

    public init(writer: any AdapterRejectionWriting, metrics: CaseHubMetrics, logger: Logger,
                recordsPerSecond: Double = AdapterRefusalLog.recordsPerSecond, burst: Double = AdapterRefusalLog.recordsBurst,
                queueCapacity: Int = AdapterRefusalLog.queueCapacity) {
        self.writer = writer
        self.metrics = metrics
        self.logger = logger
        budget = AgencyRateLimiter(requestsPerSecond: recordsPerSecond, burst: burst)
        (queue, continuation) = AsyncStream.makeStream(of: AdapterRejection.self, bufferingPolicy: .bufferingOldest(queueCapacity))
    }

    public func record(_ rejection: AdapterRejection) {
        let impersonation = rejection.code == .adapterImpersonation
        metrics.adapterRefused(code: rejection.code.rawValue, agency: rejection.agency.rawValue, impersonation: impersonation)
        var metadata: Logger.Metadata = [
            "casehub.agency": "\(rejection.agency)", "casehub.refusal": "\(rejection.code)", "http.status": "\(rejection.httpStatus.map(String.init) ?? "-")",
        ]
        if let claimed = rejection.claimedAgency { metadata["casehub.claimed_agency"] = "\(claimed)" }
        if impersonation {
            logger.warning("one agency's credential used to act as another", metadata: metadata)
        } else {
            logger.info("request refused", metadata: metadata)
        }
        guard budget.admit(rejection.agency) == nil else {
            metrics.adapterRefusalUnrecorded(.budget)
            return
        }
        switch continuation.yield(rejection) {
        case .enqueued: break
        case .dropped, .terminated: metrics.adapterRefusalUnrecorded(.queue)
        @unknown default: metrics.adapterRefusalUnrecorded(.queue)
        }
    }

    /// Writes what is queued until shutdown, then what is still queued (the
    /// HTTP server stops first, so nothing is added by then).
    public func run() async {
        await withGracefulShutdownHandler {
            for await rejection in queue {
                do {
                    try await writer.record(rejection)
                } catch {
                    logger.error("an adapter's refusal could not be recorded", metadata: [
                        "casehub.agency": "\(rejection.agency)", "casehub.refusal": "\(rejection.code)", "error": "\(error)",
                    ])
                    metrics.adapterRefusalUnrecorded(.database)
                }
            }
        } onGracefulShutdown: {
            self.continuation.finish()
        }
    }
}
