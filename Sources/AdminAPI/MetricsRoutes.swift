public import CaseHubMetrics
import HTTPCommon
public import HubStore
public import Hummingbird
import Kafka
import Logging

/// `GET /metrics`: the Prometheus text exposition, for administrators' tokens
/// only (Prometheus sends one with `authorization: {credentials: …}`): the
/// figures name agencies and their traffic. Values that live in the
/// database or the broker (outbox backlog, deadlines by stage, the hub's and
/// the adapters' consumer lag) are read at scrape time.
public struct MetricsRoutes: Sendable {
    let metrics: CaseHubMetrics
    /// Admits administrators' tokens.
    let tokens: AgencyTokenStore
    /// The outbox backlog, read at scrape.
    let store: HubStore
    /// Deadlines by stage, read at scrape.
    let queries: AdminQueries
    let lag: ConsumerLag
    /// The hub's consumer group, for its lag; nil where no hub runs.
    let hubGroup: String?
    /// The consumer group of this process's adapters, for theirs; nil where none run.
    let adapterGroup: String?

    public init(metrics: CaseHubMetrics, tokens: AgencyTokenStore, store: HubStore, queries: AdminQueries, lag: ConsumerLag,
                hubGroup: String?, adapterGroup: String? = nil) {
        self.metrics = metrics
        self.tokens = tokens
        self.store = store
        self.queries = queries
        self.lag = lag
        self.hubGroup = hubGroup
        self.adapterGroup = adapterGroup
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        router.administratorGroup("metrics", tokens: tokens).get { _, _ in
            let body = metrics.exposition(with: await snapshot())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
    }

    /// What can be read; a value that cannot (database or broker down) is left as last scraped.
    /// The database reads and the broker reads run at once (the admin client
    /// serialises its own requests, so the two lags still come one after the other).
    func snapshot() async -> CaseHubMetrics.Snapshot {
        let (store, queries, consumerLag) = (store, queries, self.lag)
        @Sendable func lag(of group: String?) async -> Int64? {
            guard let group, let entries = try? await consumerLag.read(groups: [group]) else { return nil }
            return entries.reduce(0) { $0 + $1.lag }
        }
        async let backlog = (try? await store.outboxBacklog().count) ?? 0
        async let parked = try? await store.parkedOutboxCount()
        async let deadlines = (try? await queries.deadlineCounts()) ?? [:]
        async let hubLag = lag(of: hubGroup)
        async let adapterLag = lag(of: adapterGroup)
        return CaseHubMetrics.Snapshot(outboxBacklog: await backlog, outboxParked: await parked, deadlines: await deadlines, consumerLag: await hubLag,
                                       adapterLag: await adapterLag)
    }
}

/// Counts and times every HTTP request by method, matched route and status.
public struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: CaseHubMetrics

    public init(metrics: CaseHubMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(request, context, status: Int(response.status.code), since: started)
            return response
        } catch {
            record(request, context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), since: started)
            throw error
        }
    }

    private func record(_ request: Request, _ context: Context, status: Int, since started: ContinuousClock.Instant) {
        // The route pattern (`/v1/agencies/{agency}/inbox`), never the raw path: labels stay few.
        metrics.httpRequest(method: request.method.rawValue, route: context.endpointPath ?? "unmatched", status: status,
                            duration: ContinuousClock.now - started)
    }
}
