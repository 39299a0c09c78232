import Foundation

/// Where the test broker and database are. `make test` starts both and
/// exports these variables; the defaults match `Deploy/local/stack.sh start test`.
public enum TestEnvironment {
    public static var kafkaBrokers: String {
        ProcessInfo.processInfo.environment["CASEHUB_KAFKA_BROKERS"] ?? "127.0.0.1:59102"
    }

    public static var databaseURL: String {
        ProcessInfo.processInfo.environment["CASEHUB_DATABASE_URL"] ?? "host=127.0.0.1 port=55442 user=casehub dbname=casehub"
    }

    /// The CA that signed the test PostgreSQL's certificate (`Deploy/local/stack.sh`).
    public static var databaseCA: String? {
        ProcessInfo.processInfo.environment["CASEHUB_PG_CA"]
    }

    /// A name no other test (or earlier run) uses: tests get their own topics,
    /// groups and schemas.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UInt32.random(in: .min ... .max))-\(UInt32(Date().timeIntervalSince1970) % 100_000)"
    }

    /// A unique case id in the namespace of the agency that opens the case
    /// (`<agency>:<prefix>-…`), as the hub requires of a case's opener.
    public static func caseID(_ prefix: String, openedBy agency: String) -> String {
        "\(agency):\(uniqueName(prefix))"
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
public func eventually(
    timeout: Duration = .seconds(30),
    every interval: Duration = .milliseconds(50),
    _ condition: () async throws -> Bool
) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}
