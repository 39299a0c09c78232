import Foundation

/// A statement with its parameters. Built by string interpolation, where every
/// interpolated value becomes a bound parameter (`$1`, `$2`, …), so values never
/// reach the SQL text:
///
/// ```swift
/// let rows = try await db.query("SELECT id FROM cases WHERE status = \(status) LIMIT \(limit)")
/// ```
///
/// Raw SQL can only be spliced in through `\(unsafeSQL:)`, which is for
/// identifiers and fragments the code itself owns, never for input.
public struct PostgresQuery: Sendable, Hashable, ExpressibleByStringInterpolation {
    public var sql: String
    public var binds: [PostgresBind]

    public init(unsafeSQL sql: String, binds: [PostgresBind] = []) {
        self.sql = sql
        self.binds = binds
    }

    public init(stringLiteral value: String) {
        self.init(unsafeSQL: value)
    }

    /// Ends a transaction as the last statement of its last pipeline (see
    /// ``PostgresClient/withTransaction(isolation:_:)``).
    public static let commit: PostgresQuery = "COMMIT"

    public init(stringInterpolation: StringInterpolation) {
        self.init(unsafeSQL: stringInterpolation.sql, binds: stringInterpolation.binds)
    }

    public struct StringInterpolation: StringInterpolationProtocol {
        var sql = ""
        var binds: [PostgresBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            sql.reserveCapacity(literalCapacity + interpolationCount * 3)
            binds.reserveCapacity(interpolationCount)
        }

        public mutating func appendLiteral(_ literal: String) {
            sql += literal
        }

        /// A value: becomes the next `$n` parameter.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value.postgresBind)
            sql += "$\(binds.count)"
        }

        /// An optional value: `nil` binds SQL NULL.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            binds.append(value?.postgresBind ?? .null)
            sql += "$\(binds.count)"
        }

        /// Raw SQL owned by the code (identifiers, fixed fragments). Never input.
        public mutating func appendInterpolation(unsafeSQL fragment: String) {
            sql += fragment
        }

        /// Another query: its SQL is inlined and its parameters renumbered.
        public mutating func appendInterpolation(_ query: PostgresQuery) {
            let offset = binds.count
            sql += offset == 0 ? query.sql : Self.renumber(query.sql, by: offset)
            binds += query.binds
        }

        private static func renumber(_ sql: String, by offset: Int) -> String {
            var result = ""
            var index = sql.startIndex
            while index < sql.endIndex {
                let character = sql[index]
                if character == "$" {
                    var end = sql.index(after: index)
                    while end < sql.endIndex, sql[end].isASCII, sql[end].isNumber { end = sql.index(after: end) }
                    if end > sql.index(after: index), let number = Int(sql[sql.index(after: index)..<end]) {
                        result += "$\(number + offset)"
                        index = end
                        continue
                    }
                }
                result.append(character)
                index = sql.index(after: index)
            }
            return result
        }
    }
}

/// A quoted SQL identifier (table or column name) for `\(unsafeSQL:)` use.
public enum PostgresIdentifier {
    public static func quote(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
