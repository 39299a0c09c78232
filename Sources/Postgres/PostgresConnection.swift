import Logging
import NIOPosix

/// One PostgreSQL session, leased from a ``PostgresClient``. Every call runs
/// libpq on the client's thread pool, never on Swift's cooperative pool; the
/// lease guarantees that only one task uses the session at a time.
public final class PostgresConnection: @unchecked Sendable {
    let pq: PQConnection
    private let threadPool: NIOThreadPool
    let id: Int

    init(pq: PQConnection, threadPool: NIOThreadPool, id: Int) {
        self.pq = pq
        self.threadPool = threadPool
        self.id = id
    }

    /// Runs a statement and returns its rows.
    @discardableResult
    public func query(_ query: PostgresQuery) async throws -> PostgresRows {
        try await onThread { pq in try pq.execute(query) }
    }

    /// Runs a statement and returns the number of rows it affected.
    @discardableResult
    public func execute(_ query: PostgresQuery) async throws -> Int {
        try await onThread { pq in try pq.execute(query).affectedRows }
    }

    /// Runs SQL text that the code owns (migrations), possibly several
    /// statements, without parameters.
    public func executeScript(unsafeSQL sql: String) async throws {
        try await onThread { pq in try pq.executeScript(unsafeSQL: sql) }
    }

    /// Loads many rows in one round trip with `COPY … FROM STDIN`.
    /// Returns the number of rows copied.
    @discardableResult
    public func copy(into table: String, columns: [String], rows: [[(any PostgresEncodable)?]]) async throws -> Int {
        let statement = "COPY \(PostgresIdentifier.quote(table)) (\(columns.map(PostgresIdentifier.quote).joined(separator: ", "))) FROM STDIN"
        let data = PostgresCopyText.encode(rows: rows)
        return try await onThread { pq in try pq.copyIn(copyStatement: statement, data: data) }
    }

    /// Runs these statements in one round trip (libpq pipeline mode: every
    /// statement is sent, then one Sync) and returns each one's outcome, in
    /// order. After a statement fails the server skips the rest: they come
    /// back as ``PostgresError/Code/pipelineAborted``; every error carries
    /// ``PostgresError/statementIndex``. Throws only when the session itself
    /// fails (it is then not reused).
    ///
    /// Outside a transaction the statements run as one implicit transaction:
    /// an error rolls back the ones before it too. Inside one (e.g.
    /// ``PostgresClient/withTransaction(isolation:_:)``) an error fails that
    /// transaction like any failed statement. COPY cannot be pipelined
    /// (libpq refuses it); it is rejected before anything is sent.
    public func pipelineResults(_ queries: [PostgresQuery]) async throws -> [Result<PostgresRows, PostgresError>] {
        try await onThread { pq in try pq.executePipeline(queries) }
    }

    /// Runs these statements in one round trip and returns their rows in
    /// order, or throws the error of the first statement that failed (its
    /// ``PostgresError/statementIndex`` says which). Same rules as
    /// ``pipelineResults(_:)``.
    @discardableResult
    public func pipeline(_ queries: [PostgresQuery]) async throws -> [PostgresRows] {
        let outcomes = try await pipelineResults(queries)
        return try outcomes.map { try $0.get() }
    }

    /// Collects statements with `append` and runs them as ``pipeline(_:)-([PostgresQuery])``:
    ///
    /// ```swift
    /// let rows = try await connection.pipeline { p in
    ///     p.append("INSERT INTO a VALUES (\(x))")
    ///     p.append("UPDATE b SET n = n + 1 WHERE id = \(id)")
    /// }
    /// ```
    @discardableResult
    public func pipeline(_ build: (inout PostgresPipeline) throws -> Void) async throws -> [PostgresRows] {
        var pipeline = PostgresPipeline()
        try build(&pipeline)
        return try await self.pipeline(pipeline.queries)
    }

    /// Sends `query` with this session's next statement(s), in the same
    /// round trip, instead of on its own.
    func sendWithNext(_ query: PostgresQuery) async throws {
        try await onThread { pq in pq.deferred.append(query) }
    }

    /// Forgets statements not sent yet (``sendWithNext(_:)``) and says
    /// whether the session is inside a transaction block (a failed one too).
    func dropUnsentAndCheckTransaction() async throws -> Bool {
        try await onThread { pq in
            pq.deferred.removeAll()
            return pq.isInTransactionBlock
        }
    }

    /// The server process serving this session (for `pg_terminate_backend`, logs).
    public var backendPID: Int32 { pq.backendPID }

    func onThread<T: Sendable>(_ body: @escaping @Sendable (PQConnection) throws -> T) async throws -> T {
        let pq = UncheckedBox(self.pq)
        return try await threadPool.runIfActive { try body(pq.value) }
    }
}

/// Statements gathered for one pipeline round trip.
public struct PostgresPipeline: Sendable {
    public private(set) var queries: [PostgresQuery] = []

    public init() {}

    /// Adds a statement; returns its position (its result's index).
    @discardableResult
    public mutating func append(_ query: PostgresQuery) -> Int {
        queries.append(query)
        return queries.count - 1
    }

    public var count: Int { queries.count }
    public var isEmpty: Bool { queries.isEmpty }
}

/// Moves a non-Sendable value into a thread-pool job. Safe here because a
/// connection's lease makes its use exclusive.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// COPY text format: tab-separated, `\N` for NULL, backslash escapes.
enum PostgresCopyText {
    static func encode(rows: [[(any PostgresEncodable)?]]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(rows.count * 64)
        for row in rows {
            for (index, value) in row.enumerated() {
                if index > 0 { out.append(UInt8(ascii: "\t")) }
                guard let bind = value?.postgresBind, let bytes = bind.bytes else {
                    out += [UInt8(ascii: "\\"), UInt8(ascii: "N")]
                    continue
                }
                if bind.format == .binary {
                    // bytea: hex input form, its backslash escaped for COPY.
                    out += Array("\\\\x".utf8)
                    out += Array(PostgresHex.encode(bytes).utf8)
                    continue
                }
                for byte in bytes {
                    switch byte {
                    case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                    case UInt8(ascii: "\t"): out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
                    case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                    case UInt8(ascii: "\r"): out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
                    default: out.append(byte)
                    }
                }
            }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

}
