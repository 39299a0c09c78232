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
    private static let maxPreparedStatements = 512

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

    var isHealthy: Bool { PQstatus(conn) == CONNECTION_OK }

    /// Reads whatever the server sent while the connection sat idle (e.g. the
    /// FATAL message of `pg_terminate_backend`) without blocking, and reports
    /// whether the connection is still usable.
    func checkIdle() -> Bool {
        guard PQstatus(conn) == CONNECTION_OK else { return false }
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
        _ = try consume(PQexec(conn, sql))
    }

    private func preparedName(for query: PostgresQuery) throws(PostgresError) -> String {
        if let name = preparedStatements[query.sql] { return name }
        if preparedStatements.count >= Self.maxPreparedStatements {
            _ = try consume(PQexec(conn, "DEALLOCATE ALL"))
            preparedStatements.removeAll()
        }
        let name = "casehub_\(preparedStatements.count + 1)"
        let types = query.binds.map { Oid($0.typeOID) }
        let result = types.withUnsafeBufferPointer { PQprepare(conn, name, query.sql, Int32(types.count), $0.baseAddress) }
        _ = try consume(result)
        preparedStatements[query.sql] = name
        return name
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

    // MARK: COPY

    /// Streams rows in COPY text format. `copyStatement` is `COPY … FROM STDIN`.
    func copyIn(copyStatement: String, data: [UInt8]) throws(PostgresError) -> Int {
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
