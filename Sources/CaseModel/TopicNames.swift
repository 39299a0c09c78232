/// Kafka topic names, under a configurable prefix (default `casehub`).
public struct TopicNames: Sendable, Hashable {
    public var prefix: String

    public init(prefix: String = "casehub") {
        self.prefix = prefix
    }

    /// Written only by the agency's adapter; read by the hub.
    public func from(_ agency: AgencyID) -> String { "\(prefix).from.\(agency)" }
    /// Written by the hub; read only by the agency's adapter.
    public func to(_ agency: AgencyID) -> String { "\(prefix).to.\(agency)" }
    /// Every accepted event, after commit.
    public var changes: String { "\(prefix).changes" }
    /// Every refused event with its reason.
    public var rejected: String { "\(prefix).rejected" }
    /// The hub's signed checkpoints of the audit chains, for auditors to keep.
    public var checkpoints: String { "\(prefix).checkpoints" }

    /// The agency a `from.` topic belongs to: the authenticated sender.
    public func sender(ofTopic topic: String) -> AgencyID? {
        let head = "\(prefix).from."
        guard topic.hasPrefix(head) else { return nil }
        return AgencyID(rawValue: String(topic.dropFirst(head.count)))
    }

    /// The agency a `to.` topic delivers to.
    public func recipient(ofTopic topic: String) -> AgencyID? {
        let head = "\(prefix).to."
        guard topic.hasPrefix(head) else { return nil }
        return AgencyID(rawValue: String(topic.dropFirst(head.count)))
    }
}
