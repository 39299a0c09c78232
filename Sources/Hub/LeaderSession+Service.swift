import HubStore
import Logging
import ServiceLifecycle

extension LeaderSession {
    /// Until the service shuts down: leads every `interval` and runs `round`
    /// while it leads. A broken session (the database away) is logged as
    /// `job` failing and taken up again a second later.
    func leadUntilShutdown(_ job: String, every interval: Duration, logger: Logger, round: () async throws -> Void) async {
        let running = { !Task.isShuttingDownGracefully && !Task.isCancelled }
        while running() {
            do {
                try await lead(every: interval, while: running, logger: logger, round: round)
            } catch {
                if !running() { break }
                logger.error("\(job) failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }
}
