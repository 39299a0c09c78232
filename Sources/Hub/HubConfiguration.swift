public import CaseModel

/// Settings of the hub's pipeline and relay.
public struct HubConfiguration: Sendable {
    public var topics: TopicNames
    /// The consumer group all hub instances share.
    public var groupID: String = "casehub-hub"
    /// A batch closes at this many events…
    public var maxBatchSize: Int = 500
    /// …or after this long, whichever comes first.
    public var maxBatchWaitMilliseconds: Int = 20
    /// Outbox records published per relay round.
    public var relayBatchSize: Int = 1_000
    /// Relays in this process; each holds its share of the outbox shards,
    /// shared with the relays of every other hub process.
    public var relayWorkers: Int = 2
    /// How long a relay's hold on its shards lasts unless renewed: after a
    /// hub dies, its shards move to the others within about this long.
    public var relayLeaseMilliseconds: Int = 5_000
    /// How often a relay announces itself and moves toward its fair share.
    public var relayRebalanceMilliseconds: Int = 1_000
    /// Tries of a record that fails for good (too large, unauthorised,
    /// unknown topic) before it is parked for an administrator.
    public var relayParkAfterAttempts: Int = 3
    /// How often an idle relay looks for records anyway. Commits wake it
    /// (in-process, and across processes by NOTIFY); this only bounds the wait
    /// for one whose notification was lost while a listener reconnected.
    public var relayPollMilliseconds: Int = 1_000
    /// How often the deadline scheduler looks for due notices.
    public var deadlineScanMilliseconds: Int = 1_000
    /// Deadlines handled per scheduler transaction.
    public var deadlineScanBatch: Int = 500
    /// The id the hub signs its own events (receipts, notices) with.
    public var hubSource: AgencyID = "casehub-hub"
    /// The clock receipts, clocks and notices are recorded by.
    public var clock: HubClock = .system
    /// The statutory deadline rules (compressed only for `casehub run --demo`).
    public var deadlineRules: DeadlineRules = .standard

    public init(topics: TopicNames = TopicNames()) {
        self.topics = topics
    }
}
