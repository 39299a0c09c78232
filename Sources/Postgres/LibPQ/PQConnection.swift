import CLibPQ
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Owns one `PGconn`. Every method blocks on the network, so callers run them
/// on a thread outside Swift's cooperative pool, and never two at once: a
/// `PGconn` is not safe to share between threads.
final class PQConnection {
    private let conn: OpaquePointer
    /// Named prepared statements of this session, by SQL text.
    private var preparedStatements: [String: String] = [:]
    /// Numbers names uniquely until `DEALLOCATE ALL` (a failed prepare in a
    /// pipeline must not leave a name that a later one reuses).
    private var nextStatementNumber = 1
    private static let maxPreparedStatements = 512
    /// Set when a pipeline left the protocol in a state this class cannot
    /// resume from: the pool then drops the session instead of reusing it.
    private var isBroken = false
    /// Statements that go out ahead of this session's next ones, in the same
    /// round trip: a transaction's BEGIN (``PostgresClient/withTransaction(isolation:_:)``).
    var deferred: [PostgresQuery] = []

    /// Connects with a libpq connection string; `PG*` environment variables,
    /// `.pgpass` and service files apply as libpq defines.
    init(conninfo: String, applicationName: String, connectTimeoutSeconds: Int) throws(PostgresError) {
        // Earlier keywords are defaults: the expanded connection string overrides them.
        let keywords = ["connect_timeout", "fallback_application_name", "dbname"]
        let values = [String(connectTimeoutSeconds), applicationName, conninfo]
        let conn = withCStrings(keywords) { keywordPointers in
            withCStrings(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let conn else { throw PostgresError(.connection, "out of memory creating a PostgreSQL connection") }
        guard PQstatus(conn) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(conn))
            PQfinish(conn)
            throw PostgresError(.connection, "cannot connect to PostgreSQL: \(message)")
        }
        self.conn = conn
        PQsetClientEncoding(conn, "UTF8")
    }

    deinit {
        PQfinish(conn)
    }

    var isHealthy: Bool { !isBroken && PQstatus(conn) == CONNECTION_OK }

    /// Reads whatever the server sent while the connection sat idle (e.g. the
    /// FATAL message of `pg_terminate_backend`) without blocking, and reports
    /// whether the connection is still usable.
    func checkIdle() -> Bool {
        guard isHealthy else { return false }
        // A terminated backend sends its FATAL message, then closes: the
        // second read sees the end of stream. Bounded: an idle session has
        // nothing else to read.
        for _ in 0..<4 {
            var descriptor = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0 else { break }
            if PQconsumeInput(conn) == 0 { return false }
        }
        return PQstatus(conn) == CONNECTION_OK && PQtransactionStatus(conn) == PQTRANS_IDLE
    }

    var backendPID: Int32 { PQbackendPID(conn) }

    // MARK: statements

    /// Runs one parameterised statement (extended protocol). Statements are
    /// prepared once per connection and reused.
    func execute(_ query: PostgresQuery, prepare: Bool = true) throws(PostgresError) -> PostgresRows {
        if !deferred.isEmpty { return try executePipeline([query])[0].get() }
        let result: OpaquePointer?
        if prepare {
            let name = try preparedName(for: query)
            result = withParameters(query.binds) { count, _, values, lengths, formats in
                PQexecPrepared(conn, name, count, values, lengths, formats, 0)
            }
        } else {
            result = withParameters(query.binds) { count, types, values, lengths, formats in
                PQexecParams(conn, query.sql, count, types, values, lengths, formats, 0)
            }
        }
        return try consume(result)
    }

    /// Runs SQL text with no parameters through the simple protocol, which
    /// allows several statements (migrations). The text must be the code's own.
    func executeScript(unsafeSQL sql: String) throws(PostgresError) {
        try sendDeferred()
        _ = try consume(PQexec(conn, sql))
    }

    /// Whether the session is inside a transaction block (a failed one included).
    var isInTransactionBlock: Bool {
        let status = PQtransactionStatus(conn)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Sends the deferred statements on their own, before something that
    /// cannot carry them (a script, a COPY).
    private func sendDeferred() throws(PostgresError) {
        guard !deferred.isEmpty else { return }
        let ahead = deferred
        deferred = []
        for outcome in try runPipeline(ahead) { _ = try outcome.get() }
    }

    private func preparedName(for query: PostgresQuery) throws(PostgresError) -> String {
        if let name = preparedStatements[query.sql] { return name }
        if preparedStatements.count >= Self.maxPreparedStatements {
            try deallocateAll()
        }
        let name = takeStatementName()
        let types = query.binds.map { Oid($0.typeOID) }
        let result = types.withUnsafeBufferPointer { PQprepare(conn, name, query.sql, Int32(types.count), $0.baseAddress) }
        _ = try consume(result)
        preparedStatements[query.sql] = name
        return name
    }

    private func deallocateAll() throws(PostgresError) {
        _ = try consume(PQexec(conn, "DEALLOCATE ALL"))
        preparedStatements.removeAll()
        nextStatementNumber = 1
    }

    private func takeStatementName() -> String {
        defer { nextStatementNumber += 1 }
        return "casehub_\(nextStatementNumber)"
    }

    private func withParameters<R>(
        _ binds: [PostgresBind],
        _ body: (Int32, UnsafePointer<Oid>?, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
    ) -> R {
        let types = binds.map { Oid($0.typeOID) }
        let lengths = binds.map { Int32($0.bytes?.count ?? 0) }
        let formats = binds.map { $0.format.rawValue }
        // One contiguous buffer holds every value; NULL stays a nil pointer.
        var storage = [UInt8]()
        storage.reserveCapacity(binds.reduce(0) { $0 + ($1.bytes?.count ?? 0) + 1 })
        var offsets = [Int?]()
        for bind in binds {
            if let bytes = bind.bytes {
                offsets.append(storage.count)
                storage += bytes
                storage.append(0) // text values must be NUL-terminated
            } else {
                offsets.append(nil)
            }
        }
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress)
            let values: [UnsafePointer<CChar>?] = offsets.map { offset in
                offset.flatMap { base?.advanced(by: $0).assumingMemoryBound(to: CChar.self) }
            }
            return body(Int32(binds.count), types, values, lengths, formats)
        }
    }

    /// Reads a result and frees it. Errors copy SQLSTATE, message and detail
    /// before the result is cleared.
    private func consume(_ result: OpaquePointer?) throws(PostgresError) -> PostgresRows {
        guard let result else {
            throw PostgresError(isHealthy ? .client : .connection, Self.trimmed(PQerrorMessage(conn)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            return PostgresRows(result)
        default:
            throw error(from: result)
        }
    }

    private func error(from result: OpaquePointer) -> PostgresError {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let sqlState = field(Int32(UInt8(ascii: "C")))
        let message = field(Int32(UInt8(ascii: "M"))) ?? Self.trimmed(PQresultErrorMessage(result))
        let isConnectionLost = !isHealthy || (sqlState?.hasPrefix("08") ?? false) || sqlState == "57P01"
        return PostgresError(
            isConnectionLost ? .connection : .server,
            message.isEmpty ? Self.trimmed(PQerrorMessage(conn)) : message,
            sqlState: sqlState,
            detail: field(Int32(UInt8(ascii: "D"))),
            hint: field(Int32(UInt8(ascii: "H")))
        )
    }

    // MARK: pipeline

    /// Sends every statement, then one Sync, then reads the results: one round
    /// trip for the lot (libpq pipeline mode). Returns each statement's
    /// outcome in order; after the first failure the server skips the rest
    /// up to the Sync (``PostgresError/Code/pipelineAborted``). Throws only
    /// when the connection itself fails. The session leaves pipeline mode
    /// before this returns, usable as before (inside a transaction, that
    /// transaction is failed after an error and must be rolled back).
    ///
    /// Blocking mode is enough: while libpq waits to write, it also reads
    /// what the server sends, so a long pipeline cannot deadlock on full
    /// socket buffers (the replies wait in libpq's input buffer).
    /// Runs the statements in one round trip, the deferred ones first; the
    /// outcomes are the given statements' (a deferred statement that fails
    /// is thrown).
    func executePipeline(_ queries: [PostgresQuery]) throws(PostgresError) -> [Result<PostgresRows, PostgresError>] {
        guard !deferred.isEmpty else { return try runPipeline(queries) }
        let ahead = deferred
        deferred = []
        let outcomes = try runPipeline(ahead + queries)
        for case .failure(var error) in outcomes.prefix(ahead.count) {
            error.statementIndex = nil
            throw error
        }
        return outcomes.dropFirst(ahead.count).enumerated().map { index, outcome in
            outcome.mapError { error in
                var error = error
                error.statementIndex = index
                return error
            }
        }
    }

    private func runPipeline(_ queries: [PostgresQuery]) throws(PostgresError) -> [Result<PostgresRows, PostgresError>] {
        if queries.isEmpty { return [] }
        // COPY is not allowed in pipeline mode; say so before sending anything.
        if let index = queries.firstIndex(where: { Self.isCopy($0.sql) }) {
            var error = PostgresError(.client, "COPY cannot run in a pipeline; use copy(into:) on its own")
            error.statementIndex = index
            throw error
        }
        let newTexts = Set(queries.map(\.sql)).filter { preparedStatements[$0] == nil }
        if preparedStatements.count + newTexts.count > Self.maxPreparedStatements {
            try deallocateAll()
        }
        // More distinct texts than the cache holds: send them unnamed.
        let usePrepared = newTexts.count <= Self.maxPreparedStatements

        guard PQenterPipelineMode(conn) == 1 else {
            throw PostgresError(isHealthy ? .client : .connection, "cannot enter pipeline mode: \(Self.trimmed(PQerrorMessage(conn)))")
        }
        // What each result read back belongs to: a prepare or a statement, and the query it serves.
        enum Step { case prepare(sql: String, name: String), statement }
        var steps: [(step: Step, query: Int)] = []
        steps.reserveCapacity(queries.count + newTexts.count)
        var preparedHere: [String: String] = [:]
        for (index, query) in queries.enumerated() {
            let sent: Int32
            if usePrepared {
                var name = preparedStatements[query.sql] ?? preparedHere[query.sql]
                if name == nil {
                    let newName = takeStatementName()
                    let types = query.binds.map { Oid($0.typeOID) }
                    let queued = types.withUnsafeBufferPointer { PQsendPrepare(conn, newName, query.sql, Int32(types.count), $0.baseAddress) }
                    guard queued == 1 else { throw abandonPipeline("queue a prepare") }
                    steps.append((.prepare(sql: query.sql, name: newName), index))
                    preparedHere[query.sql] = newName
                    name = newName
                }
                sent = withParameters(query.binds) { count, _, values, lengths, formats in
                    PQsendQueryPrepared(conn, name!, count, values, lengths, formats, 0)
                }
            } else {
                sent = withParameters(query.binds) { count, types, values, lengths, formats in
                    PQsendQueryParams(conn, query.sql, count, types, values, lengths, formats, 0)
                }
            }
            guard sent == 1 else { throw abandonPipeline("queue a statement") }
            steps.append((.statement, index))
        }
        guard PQpipelineSync(conn) == 1 else { throw abandonPipeline("send the pipeline") }

        var outcomes = [Result<PostgresRows, PostgresError>?](repeating: nil, count: queries.count)
        for (step, index) in steps {
            // Each step yields one result, then a NULL that ends it.
            guard let result = PQgetResult(conn) else { throw abandonPipeline("read a pipeline result") }
            let outcome: Result<PostgresRows, PostgresError>
            switch PQresultStatus(result) {
            case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
                outcome = .success(PostgresRows(result))
            case PGRES_PIPELINE_ABORTED:
                outcome = .failure(PostgresError(.pipelineAborted, "not run: an earlier statement of the pipeline failed"))
            default:
                outcome = .failure(error(from: result))
            }
            PQclear(result)
            while let extra = PQgetResult(conn) { PQclear(extra) }
            switch step {
            case .prepare(let sql, let name):
                // Only a prepare that ran may be reused; a failed one fails its statement.
                if case .success = outcome { preparedStatements[sql] = name } else if outcomes[index] == nil { outcomes[index] = outcome }
            case .statement:
                if outcomes[index] == nil { outcomes[index] = outcome }
            }
        }
        guard let sync = PQgetResult(conn) else { throw abandonPipeline("read the pipeline's end") }
        let synced = PQresultStatus(sync) == PGRES_PIPELINE_SYNC
        PQclear(sync)
        guard synced, PQexitPipelineMode(conn) == 1 else { throw abandonPipeline("leave pipeline mode") }
        return outcomes.enumerated().map { index, outcome in
            outcome!.mapError { error in
                var error = error
                error.statementIndex = index
                return error
            }
        }
    }

    /// A pipeline that cannot be read to its end leaves results this class
    /// cannot match up: the session is not reused.
    private func abandonPipeline(_ step: String) -> PostgresError {
        let message = Self.trimmed(PQerrorMessage(conn))
        let lost = PQstatus(conn) != CONNECTION_OK
        isBroken = true
        return PostgresError(lost ? .connection : .client, "cannot \(step): \(message)")
    }

    private static func isCopy(_ sql: String) -> Bool {
        sql.drop(while: { $0.isWhitespace }).prefix(4).uppercased() == "COPY"
    }

    // MARK: COPY

    /// Streams rows in COPY text format. `copyStatement` is `COPY … FROM STDIN`.
    func copyIn(copyStatement: String, data: [UInt8]) throws(PostgresError) -> Int {
        try sendDeferred()
        let start = PQexec(conn, copyStatement)
        guard let start else { throw PostgresError(.connection, Self.trimmed(PQerrorMessage(conn))) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            defer { PQclear(start) }
            throw error(from: start)
        }
        PQclear(start)
        let chunk = 1 << 16
        var offset = 0
        while offset < data.count {
            let end = min(offset + chunk, data.count)
            let sent = data[offset..<end].withUnsafeBufferPointer { buffer in
                buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                    PQputCopyData(conn, $0, Int32(buffer.count))
                }
            }
            guard sent == 1 else { throw PostgresError(.connection, Self.trimmed(PQerrorMessage(conn))) }
            offset = end
        }
        guard PQputCopyEnd(conn, nil) == 1 else { throw PostgresError(.connection, Self.trimmed(PQerrorMessage(conn))) }
        var affected = 0
        while let result = PQgetResult(conn) {
            defer { PQclear(result) }
            if PQresultStatus(result) != PGRES_COMMAND_OK { throw error(from: result) }
            affected = Int(String(cString: PQcmdTuples(result))) ?? 0
        }
        return affected
    }

    /// Runs `COPY … TO STDOUT` and hands its data on in chunks of whole
    /// CopyData messages (a row each; for binary COPY the first also carries
    /// the header) of at least `chunkBytes`. `deliver` returns false to stop
    /// early: the rest of the COPY is then not read, so the session is not
    /// reused. Returns the number of messages read.
    func copyOut(copyStatement: String, chunkBytes: Int, deliver: ([UInt8]) -> Bool) throws(PostgresError) -> Int {
        try sendDeferred()
        let start = PQexec(conn, copyStatement)
        guard let start else { throw PostgresError(.connection, Self.trimmed(PQerrorMessage(conn))) }
        guard PQresultStatus(start) == PGRES_COPY_OUT else {
            defer { PQclear(start) }
            throw error(from: start)
        }
        PQclear(start)
        var chunk: [UInt8] = []
        chunk.reserveCapacity(chunkBytes + (1 << 16))
        var messages = 0
        while true {
            var buffer: UnsafeMutablePointer<CChar>?
            let length = PQgetCopyData(conn, &buffer, 0)
            if length > 0, let buffer {
                buffer.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
                    chunk.append(contentsOf: UnsafeBufferPointer(start: $0, count: Int(length)))
                }
                PQfreemem(buffer)
                messages += 1
                if chunk.count >= chunkBytes {
                    guard deliver(chunk) else {
                        isBroken = true
                        return messages
                    }
                    chunk.removeAll(keepingCapacity: true)
                }
                continue
            }
            if length == -2 { throw PostgresError(isHealthy ? .client : .connection, Self.trimmed(PQerrorMessage(conn))) }
            break  // -1: the COPY is done; its result follows
        }
        if !chunk.isEmpty, !deliver(chunk) {
            isBroken = true
            return messages
        }
        while let result = PQgetResult(conn) {
            defer { PQclear(result) }
            if PQresultStatus(result) != PGRES_COMMAND_OK { throw error(from: result) }
        }
        return messages
    }

    // MARK: LISTEN/NOTIFY

    var socket: Int32 { PQsocket(conn) }

    /// Reads pending input and returns the notifications it carried.
    func takeNotifications() throws(PostgresError) -> [PostgresNotification] {
        guard PQconsumeInput(conn) == 1 else {
            throw PostgresError(.connection, Self.trimmed(PQerrorMessage(conn)))
        }
        var notifications: [PostgresNotification] = []
        while let notify = PQnotifies(conn) {
            notifications.append(PostgresNotification(
                channel: String(cString: notify.pointee.relname),
                payload: String(cString: notify.pointee.extra),
                backendPID: notify.pointee.be_pid
            ))
            PQfreemem(notify)
        }
        return notifications
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A notification received on a `LISTEN`ed channel.
public struct PostgresNotification: Sendable, Hashable {
    public var channel: String
    public var payload: String
    public var backendPID: Int32
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    let pointers: [UnsafePointer<CChar>?] = duplicates.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
