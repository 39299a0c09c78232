import Logging
import Postgres

/// Finds the events of a batch that fail on their own. When a batch's
/// transaction fails for a reason that is not the database's availability,
/// the batch is split in halves, in order, until each event that fails alone
/// is found: it is refused on its own, and its batch-mates go through.
struct FailingEventIsolation<Item: Sendable> {
    /// Applies a run of items in one transaction.
    let apply: (ArraySlice<Item>) async throws -> Void
    /// Refuses one item that failed alone.
    let refuseAlone: (Item, any Error) async throws -> Void
    let logger: Logger

    func run(_ batch: ArraySlice<Item>) async throws {
        do {
            try await apply(batch)
        } catch let error where !Self.isTransient(error) {
            guard batch.count > 1 else {
                try await refuseAlone(batch[batch.startIndex], error)
                return
            }
            let middle = batch.startIndex + batch.count / 2
            logger.warning("a batch failed; isolating the event that fails", metadata: ["batch.size": "\(batch.count)", "error": "\(error)"])
            try await run(batch[..<middle])
            try await run(batch[middle...])
        }
    }

    /// Errors that say nothing about the events: retry the same batch later.
    static func isTransient(_ error: any Error) -> Bool {
        if let error = error as? PostgresError { return error.isTransient }
        return error is CancellationError
    }
}
