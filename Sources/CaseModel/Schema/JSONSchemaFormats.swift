/// The `format` values CaseHub's schemas use, checked as the reference
/// validator checks them (Python jsonschema with rfc3339-validator).
enum JSONSchemaFormats {
    static let supported: Set<String> = ["date-time", "date", "uuid"]

    static func check(_ format: String, _ text: String) -> Bool {
        switch format {
        case "date-time": isDateTime(text)
        case "date": isDate(text)
        case "uuid": isUUID(text)
        default: true
        }
    }

    static func hint(_ format: String) -> String {
        switch format {
        case "date-time": " (RFC 3339, e.g. 2025-03-12T10:00:00+08:00)"
        case "date": " (YYYY-MM-DD, e.g. 2025-03-12)"
        case "uuid": " (e.g. 0b7e4c1a-3f7e-4c44-9a55-1f0c2f1e9d10)"
        default: ""
        }
    }

    private static func digits(_ s: [UInt8], _ range: Range<Int>) -> Int? {
        guard range.upperBound <= s.count else { return nil }
        var value = 0
        for i in range {
            guard s[i] >= 48 && s[i] <= 57 else { return nil }
            value = value * 10 + Int(s[i] - 48)
        }
        return value
    }

    private static func validDay(year: Int, month: Int, day: Int) -> Bool {
        guard year >= 1, (1...12).contains(month) else { return false }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
        return (1...days).contains(day)
    }

    /// `YYYY-MM-DD`, a real calendar date.
    static func isDate(_ text: String) -> Bool {
        let s = Array(text.utf8)
        guard s.count == 10, s[4] == 45, s[7] == 45,
              let year = digits(s, 0..<4), let month = digits(s, 5..<7), let day = digits(s, 8..<10) else { return false }
        return validDay(year: year, month: month, day: day)
    }

    /// RFC 3339 date-time: `T` and `Z` in either case, fraction optional,
    /// offset `Z` or ±hh:mm; no leap seconds. (Like the reference, a single
    /// trailing newline is tolerated: its regex ends in `$`.)
    static func isDateTime(_ text: String) -> Bool {
        var s = Array(text.utf8)
        if s.last == 10 { s.removeLast() }
        guard s.count >= 20, s[4] == 45, s[7] == 45, s[10] == 84 || s[10] == 116, s[13] == 58, s[16] == 58,
              let year = digits(s, 0..<4), let month = digits(s, 5..<7), let day = digits(s, 8..<10),
              let hour = digits(s, 11..<13), let minute = digits(s, 14..<16), let second = digits(s, 17..<19),
              hour <= 23, minute <= 59, second <= 59, validDay(year: year, month: month, day: day) else { return false }
        var i = 19
        if s[i] == 46 {
            i += 1
            let start = i
            while i < s.count, s[i] >= 48, s[i] <= 57 { i += 1 }
            guard i > start else { return false }
        }
        guard i < s.count else { return false }
        if s[i] == 90 || s[i] == 122 { return i + 1 == s.count }
        guard s[i] == 43 || s[i] == 45, i + 6 == s.count, s[i + 3] == 58,
              let offsetHours = digits(s, (i + 1)..<(i + 3)), let offsetMinutes = digits(s, (i + 4)..<(i + 6)) else { return false }
        return offsetHours <= 23 && offsetMinutes <= 59
    }

    /// 8-4-4-4-12 hexadecimal digits.
    static func isUUID(_ text: String) -> Bool {
        let s = Array(text.utf8)
        guard s.count == 36 else { return false }
        for (index, c) in s.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard c == 45 else { return false }
            } else {
                let isHex = (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70)
                guard isHex else { return false }
            }
        }
        return true
    }
}
