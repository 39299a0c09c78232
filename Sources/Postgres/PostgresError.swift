/// An error from the PostgreSQL layer.
///
/// ``description`` names the code, SQLSTATE and the server's primary message,
/// never the SQL text or bound values, so it is safe to log. ``detail`` and
/// ``hint`` are kept apart: show them to operators, not to agencies.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate let name: String
        /// Could not connect, or the connection broke.
        public static let connection = Code(name: "connection")
        /// The server refused a statement (see ``PostgresError/sqlState``).
        public static let server = Code(name: "server")
        /// No pooled connection became free in time.
        public static let poolTimeout = Code(name: "poolTimeout")
        /// A column could not be decoded into the requested Swift type.
        public static let decoding = Code(name: "decoding")
        /// The client was shut down.
        public static let closed = Code(name: "closed")
        /// COPY or another protocol step failed on the client side.
        public static let client = Code(name: "client")
        /// Not run: an earlier statement of the same pipeline failed, and the
        /// server skips the rest of a pipeline after an error.
        public static let pipelineAborted = Code(name: "pipelineAborted")

        public var description: String { name }
    }

    public let code: Code
    /// Five-character SQLSTATE, e.g. `23505` for a unique violation.
    public let sqlState: String?
    public let message: String
    public let detail: String?
    public let hint: String?
    public let file: String
    public let line: UInt
    /// In a pipeline, the position of the statement this error belongs to.
    public internal(set) var statementIndex: Int?

    init(_ code: Code, _ message: String, sqlState: String? = nil, detail: String? = nil, hint: String? = nil,
         file: String = #fileID, line: UInt = #line) {
        self.code = code
        self.message = message
        self.sqlState = sqlState
        self.detail = detail
        self.hint = hint
        self.file = file
        self.line = line
    }

    public var description: String {
        let position = statementIndex.map { ", statement \($0)" } ?? ""
        if let sqlState { return "PostgresError(\(code), SQLSTATE \(sqlState)\(position)): \(message)" }
        return "PostgresError(\(code)\(position)): \(message)"
    }

    /// Serialization failure or deadlock: the whole transaction may be retried.
    public var isTransactionRetryable: Bool {
        sqlState == "40001" || sqlState == "40P01"
    }

    /// A unique constraint refused a row.
    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// A failure that says nothing about the statement or its data: the
    /// database was unreachable, restarting, out of resources, or chose this
    /// transaction as a serialization or deadlock victim. The same work may
    /// succeed when tried again later; anything else would fail again.
    public var isTransient: Bool {
        if [.connection, .poolTimeout, .closed].contains(code) { return true }
        guard let sqlState else { return false }
        // 08 connection exception, 57 operator intervention (shutdown, cancel),
        // 53 insufficient resources.
        return sqlState.hasPrefix("08") || sqlState.hasPrefix("57") || sqlState.hasPrefix("53") || isTransactionRetryable
    }
}
