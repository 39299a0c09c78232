public import Foundation

/// RFC 3339 date-times: parsed with any fraction and offset, formatted in UTC
/// with milliseconds. Hand-written because Foundation's ISO8601DateFormatter
/// builds an ICU formatter per instance — over half the hub's CPU when it was
/// used per event (measured with `perf`, see docs/performance.md).
public enum RFC3339 {
    /// `2025-03-12T10:00:00+08:00`, `2025-03-12T02:00:00.5Z`; `T` and `Z` in either case.
    public static func parse(_ text: String) -> Date? {
        var utf8 = text.utf8.makeIterator()
        var s: [UInt8] = []
        s.reserveCapacity(35)
        while let byte = utf8.next() { s.append(byte) }
        guard s.count >= 20, s[4] == 45, s[7] == 45, s[10] == 84 || s[10] == 116, s[13] == 58, s[16] == 58,
              let year = digits(s, 0..<4), let month = digits(s, 5..<7), let day = digits(s, 8..<10),
              let hour = digits(s, 11..<13), let minute = digits(s, 14..<16), let second = digits(s, 17..<19),
              hour <= 23, minute <= 59, second <= 59, let date = LocalDate(year: year, month: month, day: day) else { return nil }
        var i = 19
        var fraction = 0.0
        if s[i] == 46 {
            i += 1
            var scale = 0.1
            let start = i
            while i < s.count, s[i] >= 48, s[i] <= 57 {
                fraction += Double(s[i] - 48) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < s.count else { return nil }
        var offsetSeconds = 0
        if s[i] == 90 || s[i] == 122 {
            guard i + 1 == s.count else { return nil }
        } else {
            guard s[i] == 43 || s[i] == 45, i + 6 == s.count, s[i + 3] == 58,
                  let offsetHours = digits(s, (i + 1)..<(i + 3)), let offsetMinutes = digits(s, (i + 4)..<(i + 6)),
                  offsetHours <= 23, offsetMinutes <= 59 else { return nil }
            offsetSeconds = (offsetHours * 3600 + offsetMinutes * 60) * (s[i] == 45 ? -1 : 1)
        }
        let seconds = date.dayNumber * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    /// The UTC calendar day of a second since 1970, and the second within it.
    private static func utcDay(ofSecond seconds: Int64) -> (day: LocalDate, secondOfDay: Int64) {
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 { secondOfDay += 86_400; days -= 1 }
        return (LocalDate(dayNumber: Int(days)), secondOfDay)
    }

    /// How the HTTP APIs write instants: UTC with `+00:00`, to the
    /// microsecond with trailing zeros dropped (no fraction for whole
    /// seconds), e.g. `2026-11-29T02:00:00.12+00:00` — the form PostgreSQL
    /// gives a `timestamptz` in JSON, which the APIs have always used.
    public static func formatMicroseconds(_ date: Date) -> String {
        // From the reference date, where a Double keeps sub-microsecond precision.
        let sinceReference = Int64((date.timeIntervalSinceReferenceDate * 1_000_000).rounded())
        let micros = sinceReference + 978_307_200 * 1_000_000
        var seconds = micros / 1_000_000
        var fraction = micros % 1_000_000
        if fraction < 0 { fraction += 1_000_000; seconds -= 1 }
        let (day, secondOfDay) = utcDay(ofSecond: seconds)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        var text = "\(pad(Int64(day.year), 4))-\(pad(Int64(day.month), 2))-\(pad(Int64(day.day), 2))"
            + "T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if fraction > 0 {
            var digits = pad(fraction, 6)
            while digits.hasSuffix("0") { digits.removeLast() }
            text += "." + digits
        }
        return text + "+00:00"
    }

    /// `2025-03-12T02:00:00.000Z`: UTC, milliseconds (rounded to the nearest).
    public static func format(_ date: Date) -> String {
        let totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        var seconds = totalMillis / 1000
        var millis = totalMillis % 1000
        if millis < 0 { millis += 1000; seconds -= 1 }
        let (day, secondOfDay) = utcDay(ofSecond: seconds)
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func append(_ value: Int, width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                out.append(UInt8(48 + rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        append(day.year, width: 4); out.append(45)
        append(day.month, width: 2); out.append(45)
        append(day.day, width: 2); out.append(84)
        append(Int(secondOfDay / 3600), width: 2); out.append(58)
        append(Int(secondOfDay / 60 % 60), width: 2); out.append(58)
        append(Int(secondOfDay % 60), width: 2); out.append(46)
        append(Int(millis), width: 3); out.append(90)
        return String(decoding: out, as: UTF8.self)
    }

    private static func digits(_ s: [UInt8], _ range: Range<Int>) -> Int? {
        var value = 0
        for index in range {
            let c = s[index]
            guard c >= 48, c <= 57 else { return nil }
            value = value * 10 + Int(c - 48)
        }
        return value
    }
}
