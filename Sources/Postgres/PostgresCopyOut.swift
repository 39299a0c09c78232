import Dispatch
public import Foundation
import NIOConcurrencyHelpers

extension PostgresConnection {
    /// Streams the rows of `query` with `COPY (query) TO STDOUT (FORMAT binary)`:
    /// one statement however many rows, no per-row text parsing. `body`
    /// receives chunks of whole rows in order while the next ones are read
    /// (at most `maxPendingChunks` read ahead). If `body` throws, the COPY
    /// is abandoned and the session is not reused.
    ///
    /// `query` is SQL text the code owns (COPY takes no parameters).
    public func copyRows(
        unsafeSQL query: String, chunkBytes: Int = 1 << 20, maxPendingChunks: Int = 4,
        _ body: (PostgresCopyRows) async throws -> Void
    ) async throws {
        let statement = "COPY (\(query)) TO STDOUT (FORMAT binary)"
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: [UInt8].self)
        // Read-ahead bound: the reader takes a slot per chunk, the consumer gives it back.
        let slots = DispatchSemaphore(value: max(1, maxPendingChunks))
        let stopped = NIOLockedValueBox(false)
        let reader = Task {
            do {
                _ = try await onThread { pq in
                    try pq.copyOut(copyStatement: statement, chunkBytes: chunkBytes) { chunk in
                        slots.wait()
                        if stopped.withLockedValue({ $0 }) { return false }
                        continuation.yield(chunk)
                        return true
                    }
                }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        var parser = PostgresCopyRows.Parser()
        do {
            for try await chunk in stream {
                slots.signal()
                try await body(try parser.rows(in: chunk))
            }
            // The stream also ends when this task is cancelled: release a
            // reader still waiting for a slot, then report the cancellation.
            stopped.withLockedValue { $0 = true }
            slots.signal()
            _ = await reader.result
            try Task.checkCancellation()
        } catch {
            stopped.withLockedValue { $0 = true }
            slots.signal()
            _ = await reader.result
            throw error
        }
    }
}

/// Whole rows of a binary COPY, as they came: read the fields of each row
/// with ``forEach(_:)``. Sendable, so chunks can be decoded in parallel.
public struct PostgresCopyRows: Sendable {
    let bytes: [UInt8]
    /// Start of each row's field count (an Int16) in `bytes`.
    let rowStarts: [Int]

    public var count: Int { rowStarts.count }

    /// Calls `body` with each row in order; the row is valid only during the call.
    public func forEach(_ body: (PostgresCopyRow) throws -> Void) rethrows {
        try bytes.withUnsafeBytes { buffer in
            for start in rowStarts {
                try body(PostgresCopyRow(buffer: buffer, start: start))
            }
        }
    }

    /// Splits the stream into rows, skipping the header and stopping at the trailer.
    struct Parser {
        private var sawHeader = false
        private static let signature: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]

        mutating func rows(in chunk: [UInt8]) throws(PostgresError) -> PostgresCopyRows {
            var offset = 0
            if !sawHeader {
                guard chunk.count >= 19, Array(chunk[0..<11]) == Self.signature else {
                    throw PostgresError(.client, "COPY output is not in binary format")
                }
                let extensionLength = Int(PostgresCopyRow.int32(chunk, at: 15))
                offset = 19 + extensionLength
                sawHeader = true
            }
            var starts: [Int] = []
            while offset + 2 <= chunk.count {
                let fields = Int(Int16(bitPattern: UInt16(chunk[offset]) << 8 | UInt16(chunk[offset + 1])))
                if fields < 0 { break }  // trailer
                starts.append(offset)
                offset += 2
                for _ in 0..<fields {
                    guard offset + 4 <= chunk.count else { throw PostgresError(.client, "COPY row cut short") }
                    let length = Int(PostgresCopyRow.int32(chunk, at: offset))
                    offset += 4 + max(length, 0)
                }
                guard offset <= chunk.count else { throw PostgresError(.client, "COPY row cut short") }
            }
            return PostgresCopyRows(bytes: chunk, rowStarts: starts)
        }
    }
}

/// One row of a binary COPY: fields by position, in PostgreSQL's binary forms.
public struct PostgresCopyRow {
    let buffer: UnsafeRawBufferPointer
    /// (offset, length) per field; length -1 for NULL.
    private var fields: [(Int, Int)] = []

    init(buffer: UnsafeRawBufferPointer, start: Int) {
        self.buffer = buffer
        let count = Int(Int16(bitPattern: UInt16(buffer[start]) << 8 | UInt16(buffer[start + 1])))
        fields.reserveCapacity(count)
        var offset = start + 2
        for _ in 0..<count {
            let length = Int(Self.int32(buffer, at: offset))
            fields.append((offset + 4, length))
            offset += 4 + max(length, 0)
        }
    }

    public var count: Int { fields.count }

    public func isNull(_ column: Int) -> Bool { fields[column].1 < 0 }

    /// The field's raw bytes, valid during the row's call; nil for NULL.
    public func bytes(_ column: Int) -> UnsafeRawBufferPointer? {
        let (offset, length) = fields[column]
        return length < 0 ? nil : UnsafeRawBufferPointer(rebasing: buffer[offset..<offset + length])
    }

    /// A `bigint` column.
    public func int64(_ column: Int) throws(PostgresError) -> Int64 {
        let (offset, length) = fields[column]
        guard length == 8 else { throw PostgresError(.decoding, "column \(column) is not a non-null bigint") }
        return Int64(bitPattern: Self.uint64(buffer, at: offset))
    }

    /// A `timestamptz` column (microseconds since 2000-01-01 UTC).
    public func date(_ column: Int) throws(PostgresError) -> Date {
        let (offset, length) = fields[column]
        guard length == 8 else { throw PostgresError(.decoding, "column \(column) is not a non-null timestamptz") }
        let microseconds = Int64(bitPattern: Self.uint64(buffer, at: offset))
        // Same arithmetic as the text decoder, so both give the identical Date.
        return Date(timeIntervalSince1970: Double(microseconds + 946_684_800_000_000) / 1_000_000)
    }

    /// A `jsonb` column's JSON text (after its format version byte), valid during the row's call.
    public func jsonb(_ column: Int) throws(PostgresError) -> UnsafeRawBufferPointer {
        let (offset, length) = fields[column]
        guard length >= 1, buffer[offset] == 1 else { throw PostgresError(.decoding, "column \(column) is not a non-null jsonb") }
        return UnsafeRawBufferPointer(rebasing: buffer[offset + 1..<offset + length])
    }

    static func int32<Bytes: RandomAccessCollection>(_ bytes: Bytes, at offset: Int) -> Int32 where Bytes.Element == UInt8, Bytes.Index == Int {
        var value: UInt32 = 0
        for index in offset..<offset + 4 { value = value << 8 | UInt32(bytes[index]) }
        return Int32(bitPattern: value)
    }

    static func uint64(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in offset..<offset + 8 { value = value << 8 | UInt64(bytes[index]) }
        return value
    }
}
