public import CaseModel
import Foundation
import Synchronization

/// What one agency's system may send, so that no agency can starve the
/// others or the hub: body size, events per batch, string length, and
/// requests per second. Each is configurable (``CaseHubConfiguration``
/// reads `CASEHUB_MAX_*` and `CASEHUB_RATE_*`). Breaking a limit on content
/// is a ``SubmissionError`` naming the limit and its value; the HTTP API
/// answers it, and a request over the body size or the rate, with a `413`
/// or `429` problem.
public struct AdapterLimits: Sendable, Equatable {
    /// Bytes of one request body.
    public var maxBodyBytes = 4 << 20
    /// Events in one `POST …/events` array.
    public var maxEventsPerBatch = 500
    /// UTF-8 bytes of any one string in a submitted event or record.
    public var maxStringBytes = 64 << 10
    /// Requests per second per agency, sustained; `burst` more may come at once.
    public var requestsPerSecond = 100.0
    public var burst = 200.0
    /// Events per inbox page, and how long an inbox request may wait.
    public var maxInboxPage = 1_000
    public var maxWaitSeconds = 30

    public init() {}

    /// The first string longer than `maxStringBytes`, named by its path.
    public func checkStrings(in value: JSONValue, pathPrefix: String = "") throws(SubmissionError) {
        if let path = Self.firstString(in: value, longerThan: maxStringBytes, at: pathPrefix) {
            throw .stringTooLong(path: path, limit: maxStringBytes)
        }
    }

    /// Text PostgreSQL cannot store (U+0000), named by its path.
    public static func checkStorable(_ value: JSONValue, pathPrefix: String = "") throws(SubmissionError) {
        if let path = value.pathOfNULCharacter {
            throw .unstorableText(path: pathPrefix + path)
        }
    }

    static func firstString(in value: JSONValue, longerThan limit: Int, at path: String) -> String? {
        switch value {
        case .string(let text):
            return text.utf8.count > limit ? path : nil
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let found = firstString(in: item, longerThan: limit, at: "\(path)/\(index)") { return found }
            }
            return nil
        case .object(let members):
            for (key, member) in members {
                let here = "\(path)/\(key.prefix(64))"
                if key.utf8.count > limit { return here }
                if let found = firstString(in: member, longerThan: limit, at: here) { return found }
            }
            return nil
        default:
            return nil
        }
    }
}

/// A token bucket per agency: `requestsPerSecond` sustained, `burst` at once.
public final class AgencyRateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let rate: Double
    private let burst: Double
    private let buckets = Mutex<[AgencyID: Bucket]>([:])

    public init(requestsPerSecond: Double, burst: Double) {
        rate = max(requestsPerSecond, 0.001)
        self.burst = max(burst, 1)
    }

    /// Takes one request from the agency's bucket, or says how long until one is there.
    public func admit(_ agency: AgencyID, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLock { buckets in
            var bucket = buckets[agency] ?? Bucket(tokens: burst, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            bucket.tokens = min(burst, bucket.tokens + max(0, seconds) * rate)
            bucket.updated = now
            defer { buckets[agency] = bucket }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .milliseconds(Int64(((1 - bucket.tokens) / rate * 1000).rounded(.up)))
        }
    }
}
