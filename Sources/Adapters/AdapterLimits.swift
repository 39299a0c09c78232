import CaseModel
import Foundation
import HTTPCommon
import Synchronization

/// What one agency's system may send, so that no agency can starve the
/// others or the hub: body size, events per batch, string length, and
/// requests per second. Each is configurable (``CaseHubConfiguration``
/// reads `CASEHUB_MAX_*` and `CASEHUB_RATE_*`); breaking one is a `413` or
/// `429` with a problem body saying which limit and its value.
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

    /// The first string longer than `maxStringBytes`, as a 413 naming where it is.
    public func checkStrings(in value: JSONValue, pathPrefix: String = "") throws(ProblemDetails) {
        if let path = Self.firstString(in: value, longerThan: maxStringBytes, at: pathPrefix) {
            throw ProblemDetails(.contentTooLarge, title: "String too long",
                                 detail: "a string exceeds \(maxStringBytes) bytes; nothing was submitted",
                                 violations: [Violation(path: path, rule: "maxLength", message: "at most \(maxStringBytes) UTF-8 bytes")])
        }
    }

    /// A `422` for text PostgreSQL cannot store (U+0000).
    public static func checkStorable(_ value: JSONValue, pathPrefix: String = "") throws(ProblemDetails) {
        if let path = value.pathOfNULCharacter {
            throw ProblemDetails(.unprocessableContent, title: "Unstorable text",
                                 detail: "text may not contain U+0000 (NUL); nothing was submitted",
                                 violations: [Violation(path: pathPrefix + path, rule: "text", message: "no U+0000 (NUL) characters")])
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

    /// The 429 for a refused request, with `Retry-After` in whole seconds.
    public static func tooManyRequests(retryAfter wait: Duration, limits: AdapterLimits) -> ProblemDetails {
        var problem = ProblemDetails(.tooManyRequests, title: "Too many requests",
                                     detail: "at most \(limits.requestsPerSecond) requests per second per agency (bursts of \(Int(limits.burst))); retry later")
        problem.headers[.retryAfter] = String(max(1, Int((Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18).rounded(.up))))
        return problem
    }
}
