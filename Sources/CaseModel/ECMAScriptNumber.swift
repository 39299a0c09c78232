/// How ECMAScript writes a number (ECMA-262, Number::toString with radix 10),
/// which RFC 8785 makes the canonical JSON form of a double: the shortest
/// digits that read back as the same double, in plain notation from 1e-6 up
/// to below 1e21 and in exponent notation outside it (`1e+21`, `1.5e-7`).
///
/// The digits come from Swift's `description`, which gives the shortest
/// round-trip digits (the closest such digits where there is a choice, as
/// ECMAScript asks); only where the decimal point and exponent go is
/// decided here.
enum ECMAScriptNumber {
    /// The text of a finite double; -0 is `0`, as in ECMAScript.
    static func format(_ value: Double) -> String {
        precondition(value.isFinite, "JSON has no spelling for \(value)")
        if value == 0 { return "0" }
        if value < 0 { return "-" + format(-value) }
        let (digits, n) = shortestDigits(of: value)
        let k = digits.count
        let text = String(decoding: digits, as: UTF8.self)
        // The value is 0.d₁d₂…dₖ × 10ⁿ: the cases of Number::toString, in its order.
        if k <= n && n <= 21 {
            return text + String(repeating: "0", count: n - k)
        }
        if 0 < n && n <= 21 {
            return String(text.prefix(n)) + "." + String(text.dropFirst(n))
        }
        if -6 < n && n <= 0 {
            return "0." + String(repeating: "0", count: -n) + text
        }
        let exponent = n - 1
        let mantissa = k == 1 ? text : String(text.prefix(1)) + "." + String(text.dropFirst())
        return mantissa + "e" + (exponent < 0 ? "-" : "+") + String(abs(exponent))
    }

    /// The shortest round-trip digits of a positive finite double, without
    /// leading or trailing zeros, and n such that the value is 0.digits × 10ⁿ.
    /// Swift writes them as `123.45`, `1e+16`, `1.5e-07` or `0.00015`.
    static func shortestDigits(of value: Double) -> (digits: [UInt8], n: Int) {
        let text = value.description
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...])!
        }
        var digits: [UInt8] = []
        var point: Int?
        for byte in mantissa.utf8 {
            if byte == UInt8(ascii: ".") { point = digits.count } else { digits.append(byte) }
        }
        var n = (point ?? digits.count) + exponent
        let leadingZeros = digits.prefix { $0 == UInt8(ascii: "0") }.count
        digits.removeFirst(leadingZeros)
        n -= leadingZeros
        while digits.last == UInt8(ascii: "0") { digits.removeLast() }
        return (digits, n)
    }
}
