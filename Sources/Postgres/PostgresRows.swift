import CLibPQ

/// The rows of one result, copied out of libpq (values in text format).
public struct PostgresRows: Sendable, RandomAccessCollection {
    public let columns: PostgresColumns
    private let values: [String?]
    /// Rows affected, for INSERT/UPDATE/DELETE; 0 otherwise.
    public let affectedRows: Int

    init(_ result: OpaquePointer) {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        columns = PostgresColumns(names: (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) })
        var values = [String?]()
        values.reserveCapacity(rowCount * columnCount)
        for row in 0..<rowCount {
            for column in 0..<columnCount {
                if PQgetisnull(result, Int32(row), Int32(column)) == 1 {
                    values.append(nil)
                } else {
                    let length = Int(PQgetlength(result, Int32(row), Int32(column)))
                    let pointer = UnsafeRawPointer(PQgetvalue(result, Int32(row), Int32(column))!)
                    values.append(String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self))
                }
            }
        }
        self.values = values
        affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { columns.names.isEmpty ? 0 : values.count / columns.names.count }

    public subscript(position: Int) -> PostgresRow {
        let width = columns.names.count
        return PostgresRow(columns: columns, values: values[position * width..<(position + 1) * width])
    }
}

/// Column names of a result, shared by its rows.
public struct PostgresColumns: Sendable {
    public let names: [String]
    private let indexByName: [String: Int]

    init(names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
        indexByName = index
    }

    func index(of name: String) throws(PostgresError) -> Int {
        guard let index = indexByName[name] else { throw PostgresError(.decoding, "no column named \(name)") }
        return index
    }
}

/// One row. Decode columns by position or name into any ``PostgresDecodable``.
public struct PostgresRow: Sendable {
    public let columns: PostgresColumns
    let values: ArraySlice<String?>

    /// The raw text of a column, `nil` for SQL NULL.
    public func text(_ column: Int) -> String? { values[values.startIndex + column] }

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws(PostgresError) -> T {
        guard let text = text(column) else {
            throw PostgresError(.decoding, "column \(columns.names[column]) is NULL, expected \(T.self)")
        }
        return try T(postgresText: text)
    }

    public func decode<T: PostgresDecodable>(_ column: Int, as type: T?.Type) throws(PostgresError) -> T? {
        guard let text = text(column) else { return nil }
        return try T(postgresText: text)
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws(PostgresError) -> T {
        try decode(try columns.index(of: column), as: T.self)
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T?.Type) throws(PostgresError) -> T? {
        try decode(try columns.index(of: column), as: T?.self)
    }
}
