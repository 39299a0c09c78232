import HubStore
import Synchronization

/// Case states this process committed, with their rows' versions: a batch
/// takes a case from here when its row has not changed since (checked by the
/// lock statement), instead of reading and decoding the stored JSON. Another
/// hub's write changes the row's version, so a stale entry is never used.
/// Bounded: the oldest entries go first.
final class CommittedCases: Sendable {
    private struct Entries {
        var cases: [String: HubTransaction.CachedCase] = [:]
        var order: [String] = []
        var start = 0
    }
    private let entries = Mutex(Entries())
    let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    func lookup(_ ids: Set<String>) -> [String: HubTransaction.CachedCase] {
        entries.withLock { entries in
            var found: [String: HubTransaction.CachedCase] = [:]
            for id in ids { if let entry = entries.cases[id] { found[id] = entry } }
            return found
        }
    }

    /// Only what a transaction that committed wrote.
    func store(_ written: [String: HubTransaction.CachedCase]) {
        entries.withLock { entries in
            for (id, entry) in written {
                if entries.cases.updateValue(entry, forKey: id) == nil { entries.order.append(id) }
            }
            while entries.cases.count > capacity, entries.start < entries.order.count {
                entries.cases.removeValue(forKey: entries.order[entries.start])
                entries.start += 1
            }
            // Keep the order list from growing without bound.
            if entries.start > capacity {
                entries.order.removeFirst(entries.start)
                entries.start = 0
            }
        }
    }
}
