import Foundation

/// Settings of a ``PostgresClient``.
public struct PostgresConfiguration: Sendable {
    /// A libpq connection string (`host=… dbname=…` or `postgresql://…`). Empty
    /// means libpq's defaults: `PG*` environment variables, `.pgpass`, service files.
    public var connectionString: String
    /// Most sessions open at once.
    public var maxConnections: Int = 10
    /// How long a caller waits for a free session before ``PostgresError/Code/poolTimeout``.
    public var acquireTimeoutMilliseconds: Int = 10_000
    /// `statement_timeout` of every session: no statement runs longer.
    public var statementTimeoutMilliseconds: Int = 30_000
    /// libpq `connect_timeout` unless the connection string sets one.
    public var connectTimeoutSeconds: Int = 10
    /// How often a transaction is tried when it hits a serialization failure or deadlock.
    public var transactionAttempts: Int = 10
    /// `application_name` unless the connection string sets one.
    public var applicationName: String = "casehub"

    public init(connectionString: String) {
        self.connectionString = connectionString
    }
}

extension PostgresConfiguration {
    /// `connectionString` to log in as `user` instead: in keyword form a
    /// later `user=` overrides an earlier one; a URI gets it as a parameter,
    /// which overrides the user part. Everything else is kept.
    public static func connectionString(_ connectionString: String, user: String) -> String {
        let trimmed = connectionString.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("postgresql://") || trimmed.hasPrefix("postgres://") {
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~".utf8)
            let encoded = user.utf8.map { allowed.contains($0) ? String(UnicodeScalar($0)) : String(format: "%%%02X", $0) }.joined()
            return trimmed + (trimmed.contains("?") ? "&" : "?") + "user=" + encoded
        }
        let quoted = user.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
        return (trimmed.isEmpty ? "" : trimmed + " ") + "user='\(quoted)'"
    }
}
