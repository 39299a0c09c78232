public import Foundation

/// One bound parameter as libpq sends it: a type OID and the value's bytes in
/// text or binary format, or NULL.
public struct PostgresBind: Sendable, Hashable {
    public enum Format: Int32, Sendable { case text = 0, binary = 1 }

    public var typeOID: UInt32
    public var bytes: [UInt8]?
    public var format: Format

    public init(typeOID: UInt32, bytes: [UInt8]?, format: Format = .text) {
        self.typeOID = typeOID
        self.bytes = bytes
        self.format = format
    }

    /// SQL NULL of unspecified type (the server infers it).
    public static let null = PostgresBind(typeOID: 0, bytes: nil)

    static func text(_ oid: PostgresTypeOID, _ value: String) -> PostgresBind {
        PostgresBind(typeOID: oid.rawValue, bytes: Array(value.utf8))
    }
}

/// Type OIDs of the built-in types CaseHub binds.
public enum PostgresTypeOID: UInt32, Sendable {
    case bool = 16, bytea = 17, int8 = 20, int4 = 23, text = 25, jsonb = 3802
    case float8 = 701, uuid = 2950, timestamptz = 1184, textArray = 1009, int8Array = 1016, uuidArray = 2951
}

/// A Swift value that can be bound as a statement parameter.
public protocol PostgresEncodable: Sendable {
    var postgresBind: PostgresBind { get }
}

/// A Swift value that can be decoded from a column in text format.
public protocol PostgresDecodable: Sendable {
    init(postgresText: String) throws(PostgresError)
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresBind: PostgresBind { .text(.text, self) }
    public init(postgresText: String) { self = postgresText }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresBind: PostgresBind { .text(.int8, String(self)) }
    public init(postgresText: String) throws(PostgresError) {
        guard let value = Int(postgresText) else { throw .decodingFailed(postgresText, as: Int.self) }
        self = value
    }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public var postgresBind: PostgresBind { .text(.int8, String(self)) }
    public init(postgresText: String) throws(PostgresError) {
        guard let value = Int64(postgresText) else { throw .decodingFailed(postgresText, as: Int64.self) }
        self = value
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public var postgresBind: PostgresBind { .text(.int4, String(self)) }
    public init(postgresText: String) throws(PostgresError) {
        guard let value = Int32(postgresText) else { throw .decodingFailed(postgresText, as: Int32.self) }
        self = value
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresBind: PostgresBind { .text(.float8, String(self)) }
    public init(postgresText: String) throws(PostgresError) {
        guard let value = Double(postgresText) else { throw .decodingFailed(postgresText, as: Double.self) }
        self = value
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresBind: PostgresBind { .text(.bool, self ? "t" : "f") }
    public init(postgresText: String) throws(PostgresError) {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw .decodingFailed(postgresText, as: Bool.self)
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresBind: PostgresBind { .text(.uuid, uuidString.lowercased()) }
    public init(postgresText: String) throws(PostgresError) {
        guard let value = UUID(uuidString: postgresText) else { throw .decodingFailed(postgresText, as: UUID.self) }
        self = value
    }
}

/// `bytea`: bound in binary format (no escaping), read from the hex text format.
extension Array: PostgresEncodable where Element == UInt8 {
    public var postgresBind: PostgresBind { PostgresBind(typeOID: PostgresTypeOID.bytea.rawValue, bytes: self, format: .binary) }
}

extension Array: PostgresDecodable where Element == UInt8 {
    public init(postgresText: String) throws(PostgresError) {
        guard let bytes = PostgresHex.decodeBytea(postgresText) else { throw .decodingFailed("<bytea>", as: [UInt8].self) }
        self = bytes
    }
}

/// `timestamptz` with microsecond precision, always exchanged in UTC.
extension Date: PostgresEncodable, PostgresDecodable {
    public var postgresBind: PostgresBind { .text(.timestamptz, PostgresTimestamp.format(self)) }
    public init(postgresText: String) throws(PostgresError) {
        guard let date = PostgresTimestamp.parse(postgresText) else { throw .decodingFailed(postgresText, as: Date.self) }
        self = date
    }
}

/// A `jsonb` value carried as its JSON text.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Hashable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public init(bytes: [UInt8]) { self.text = String(decoding: bytes, as: UTF8.self) }
    public init(postgresText: String) { self.text = postgresText }
    public var postgresBind: PostgresBind { .text(.jsonb, text) }
    public var bytes: [UInt8] { Array(text.utf8) }
}

/// `text[]`, `int8[]` and `uuid[]` parameters, for `= ANY($1)` and `unnest($1)`
/// multi-row statements.
public struct PostgresArray: PostgresEncodable, Hashable {
    public var postgresBind: PostgresBind

    public init(_ values: [String?]) {
        postgresBind = .text(.textArray, Self.literal(values.map { $0.map(Self.quoted) }))
    }

    public init(_ values: [Int64?]) {
        postgresBind = .text(.int8Array, Self.literal(values.map { $0.map(String.init) }))
    }

    public init(_ values: [UUID]) {
        postgresBind = .text(.uuidArray, Self.literal(values.map { $0.uuidString.lowercased() }))
    }

    /// An array of any bindable values, sent as an array literal whose type
    /// the statement gives with a cast (`\(array)::bytea[]`): one parameter
    /// per column for multi-row `unnest` statements. Built on bytes: it runs
    /// for every value of every multi-row statement.
    public init(elements: [(any PostgresEncodable)?]) {
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            guard let bind = element?.postgresBind, let bytes = bind.bytes else {
                out += Array("NULL".utf8)
                continue
            }
            if bind.format == .binary {
                // bytea hex input form; its backslash escaped for the array literal.
                out += Array("\"\\\\x".utf8) + Array(PostgresHex.encode(bytes).utf8) + [UInt8(ascii: "\"")]
            } else {
                Self.appendQuoted(bytes, to: &out)
            }
        }
        out.append(UInt8(ascii: "}"))
        postgresBind = PostgresBind(typeOID: 0, bytes: out)
    }

    private static func literal(_ elements: [String?]) -> String {
        "{" + elements.map { $0 ?? "NULL" }.joined(separator: ",") + "}"
    }

    private static func quoted(_ value: String) -> String {
        var bytes: [UInt8] = []
        appendQuoted(value.utf8, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// An array element in double quotes, `"` and `\\` escaped.
    private static func appendQuoted(_ value: some Collection<UInt8>, to out: inout [UInt8]) {
        out.reserveCapacity(out.count + value.count + 2)
        out.append(UInt8(ascii: "\""))
        for byte in value {
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { out.append(UInt8(ascii: "\\")) }
            out.append(byte)
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension PostgresError {
    static func decodingFailed(_ text: String, as type: Any.Type) -> PostgresError {
        PostgresError(.decoding, "cannot decode \(text.prefix(40)) as \(type)")
    }
}

enum PostgresHex {
    static let digits = Array("0123456789abcdef".utf8)

    /// Lower-case hex digits of the bytes, no prefix.
    static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decodeBytea(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count >= 2, utf8[0] == UInt8(ascii: "\\"), utf8[1] == UInt8(ascii: "x"), utf8.count % 2 == 0 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity((utf8.count - 2) / 2)
        var index = 2
        while index < utf8.count {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// `timestamptz` text in the ISO style the connection is set to (`DateStyle=ISO`,
/// `TimeZone=UTC`): `2024-10-01 08:30:00.123456+00`.
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let totalMicros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var micros = Int64(totalMicros)
        var seconds = micros / 1_000_000
        micros -= seconds * 1_000_000
        if micros < 0 { micros += 1_000_000; seconds -= 1 }
        var days = seconds / 86_400
        var secondOfDay = seconds - days * 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        let (year, month, day) = civil(fromDays: days)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(micros, 6))Z"
    }

    static func parse(_ text: String) -> Date? {
        let s = Array(text.utf8)
        var i = 0
        func number(_ count: Int) -> Int64? {
            guard i + count <= s.count else { return nil }
            var value: Int64 = 0
            for _ in 0..<count {
                let c = s[i]
                guard c >= 48 && c <= 57 else { return nil }
                value = value * 10 + Int64(c - 48)
                i += 1
            }
            return value
        }
        func expect(_ c: UInt8) -> Bool {
            guard i < s.count, s[i] == c else { return false }
            i += 1
            return true
        }
        guard let year = number(4), expect(45), let month = number(2), expect(45), let day = number(2) else { return nil }
        guard i < s.count, s[i] == 32 || s[i] == 84 else { return nil }
        i += 1
        guard let hour = number(2), expect(58), let minute = number(2), expect(58), let second = number(2) else { return nil }
        var micros: Int64 = 0
        if i < s.count, s[i] == 46 {
            i += 1
            var digits = 0
            while i < s.count, s[i] >= 48, s[i] <= 57 {
                if digits < 6 { micros = micros * 10 + Int64(s[i] - 48) }
                digits += 1
                i += 1
            }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offsetSeconds: Int64 = 0
        if i < s.count {
            if s[i] == 90 { i += 1 } else {
                let sign: Int64 = s[i] == 45 ? -1 : 1
                guard s[i] == 43 || s[i] == 45 else { return nil }
                i += 1
                guard let offsetHours = number(2) else { return nil }
                var offsetMinutes: Int64 = 0
                if expect(58) { guard let m = number(2) else { return nil }; offsetMinutes = m }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            }
        }
        guard i == s.count else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds * 1_000_000 + micros) / 1_000_000)
    }

    // Howard Hinnant's civil-calendar algorithms (proleptic Gregorian).
    static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (month <= 2 ? yoe + era * 400 + 1 : yoe + era * 400, month, day)
    }
}
