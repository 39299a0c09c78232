public import Foundation

/// Starts a tansu broker of a test's own (memory storage) on `listenPort`,
/// advertising `advertisedPort` — a proxy's or TLS terminator's port in front
/// of it, so that every client connection goes through that. Stop it with
/// SIGKILL: it may inherit a signal mask that blocks SIGTERM and SIGINT.
public func launchOwnBroker(listenPort: Int, advertisedPort: Int) throws -> Process {
    let process = Process()
    process.executableURL = PackagePaths.root.appendingPathComponent(".local/bin/tansu")
    process.arguments = ["broker", "--listener-url", "tcp://127.0.0.1:\(listenPort)",
                         "--advertised-listener-url", "tcp://127.0.0.1:\(advertisedPort)", "--storage-engine", "memory://tansu/"]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    return process
}
