import Dispatch

/// Runs a blocking librdkafka call off Swift's cooperative thread pool.
enum Blocking {
    static func run<T: Sendable, E: Error>(
        on queue: DispatchQueue,
        _ body: @escaping @Sendable () throws(E) -> T
    ) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
