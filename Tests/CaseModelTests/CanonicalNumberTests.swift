import CaseModel
import Foundation
import Testing
import TestSupport

/// Numbers in canonical JSON: written as RFC 8785 (ECMAScript) writes them,
/// read by value, and so the same bytes before and after PostgreSQL's jsonb
/// respells them.
struct CanonicalNumberTests {
    static func canonical(_ value: Double) -> String { JSONValue.number(value).canonicalString }

    static func canonical(parsing text: String, format: JSONValue.CanonicalFormat = .current) throws -> String {
        String(decoding: try JSONValue.parse(Array(text.utf8), format: format).canonicalBytes(in: format), as: UTF8.self)
    }

    /// RFC 8785, Appendix B: IEEE 754 bit patterns and their text.
    @Test(arguments: [
        (0x0000_0000_0000_0000, "0"),
        (0x8000_0000_0000_0000, "0"),
        (0x0000_0000_0000_0001, "5e-324"),
        (0x8000_0000_0000_0001, "-5e-324"),
        (0x7FEF_FFFF_FFFF_FFFF, "1.7976931348623157e+308"),
        (0xFFEF_FFFF_FFFF_FFFF, "-1.7976931348623157e+308"),
        (0x4340_0000_0000_0000, "9007199254740992"),
        (0xC340_0000_0000_0000, "-9007199254740992"),
        (0x4430_0000_0000_0000, "295147905179352830000"),
        (0x44B5_2D02_C7E1_4AF5, "9.999999999999997e+22"),
        (0x44B5_2D02_C7E1_4AF6, "1e+23"),
        (0x44B5_2D02_C7E1_4AF7, "1.0000000000000001e+23"),
        (0x444B_1AE4_D6E2_EF4E, "999999999999999700000"),
        (0x444B_1AE4_D6E2_EF4F, "999999999999999900000"),
        (0x444B_1AE4_D6E2_EF50, "1e+21"),
        (0x3EB0_C6F7_A0B5_ED8C, "9.999999999999997e-7"),
        (0x3EB0_C6F7_A0B5_ED8D, "0.000001"),
        (0x41B3_DE43_5555_5553, "333333333.3333332"),
        (0x41B3_DE43_5555_5554, "333333333.33333325"),
        (0x41B3_DE43_5555_5555, "333333333.3333333"),
        (0x41B3_DE43_5555_5556, "333333333.3333334"),
        (0x41B3_DE43_5555_5557, "333333333.33333343"),
        (0xBECB_F647_612F_3696, "-0.0000033333333333333333"),
        (0x4314_3FF3_C1CB_0959, "1424953923781206.2"),
    ] as [(UInt64, String)])
    func writesTheRFC8785Samples(bits: UInt64, expected: String) throws {
        let value = Double(bitPattern: bits)
        #expect(Self.canonical(value) == expected)
        // Read back, the text is the same double, and writes the same.
        if value != 0 { #expect(Double(expected)?.bitPattern == bits) }
        #expect(try Self.canonical(parsing: expected) == expected)
    }

    /// RFC 8785, 3.2.2: the numbers of its sample object.
    @Test func writesTheRFC8785SampleNumbers() throws {
        #expect(try Self.canonical(parsing: "[333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001]")
                == "[333333333.3333333,1e+30,4.5,0.002,1e-27]")
    }

    /// NaN and the infinities have no JSON text: the parser refuses them, and
    /// one built in code is written `null` (what the stored form reads back as).
    @Test func nonFiniteNumbersAreNull() throws {
        for value in [Double.nan, .infinity, -.infinity] {
            #expect(Self.canonical(value) == "null")
            #expect(JSONValue.array([.number(value)]).canonicalBytes(in: .legacy) == Array("[null]".utf8))
        }
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array("1e400".utf8)) }
        #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(Array("-1e400".utf8)) }
    }

    /// Each number as it arrives, as PostgreSQL 15's jsonb gives it back
    /// (`SELECT '[…]'::jsonb`), and its canonical text: the same either way.
    @Test(arguments: [
        ("1e16", "10000000000000000", "10000000000000000"),
        ("1E+16", "10000000000000000", "10000000000000000"),
        ("1.5e-7", "0.00000015", "1.5e-7"),
        ("100.0", "100.0", "100"),
        ("-0.0", "0.0", "0"),
        ("-0", "0", "0"),
        ("1e21", "1000000000000000000000", "1e+21"),
        ("123456789012345680000", "123456789012345680000", "123456789012345680000"),
        ("0.1", "0.1", "0.1"),
        ("1.50e1", "15.0", "15"),
        ("9007199254740993e0", "9007199254740993", "9007199254740993"),
        ("1000000000000000.0", "1000000000000000.0", "1000000000000000"),
        ("1e-5", "0.00001", "0.00001"),
        ("-9223372036854775808.0", "-9223372036854775808.0", "-9223372036854775808"),
        ("9223372036854775808", "9223372036854775808", "9223372036854776000"),
        ("1.7976931348623157e308", "17976931348623157" + String(repeating: "0", count: 292), "1.7976931348623157e+308"),
    ])
    func aNumberKeepsItsTextThroughJSONB(arriving: String, fromJSONB: String, expected: String) throws {
        #expect(try Self.canonical(parsing: arriving) == expected)
        #expect(try Self.canonical(parsing: fromJSONB) == expected)
        #expect(try Self.canonical(parsing: expected) == expected)
    }

    /// A whole number is `.integer` whatever its spelling, so it has one text
    /// whether it came as `.integer` or `.number`.
    @Test func wholeNumbersReadAsIntegers() throws {
        #expect(try JSONValue.parse(Array("1e16".utf8)) == .integer(10_000_000_000_000_000))
        #expect(try JSONValue.parse(Array("100.000".utf8)) == .integer(100))
        #expect(try JSONValue.parse(Array("-12.5e1".utf8)) == .integer(-125))
        #expect(try JSONValue.parse(Array("0e99999999999".utf8)) == .integer(0))
        #expect(try JSONValue.parse(Array("1.25".utf8)) == .number(1.25))
        #expect(try JSONValue.parse(Array("1e19".utf8)) == .number(1e19))
        for value: Int64 in [0, 1, -1, 100, 1_000_000_000_000_000, 9_007_199_254_740_992, -9_007_199_254_740_992, 10_000_000_000_000_000] {
            #expect(JSONValue.integer(value).canonicalString == Self.canonical(Double(value)), "\(value)")
        }
    }

    /// Any double's text reads back as the same double, and as a value with
    /// the same text: canonical bytes are stable however often they are
    /// stored and read.
    @Test func everyDoubleRoundTrips() throws {
        var generator = SplitMix64(seed: 8785)
        var values: [Double] = [.leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude, .ulpOfOne, 0.1 + 0.2, 1e-7, 1e21, 1e22]
        for _ in 0..<20_000 {
            let value = Double(bitPattern: generator.next())
            if value.isFinite { values.append(value) }
            values.append(Double(Int64.random(in: -1_000_000_000...1_000_000_000, using: &generator)) / 1000)
        }
        for value in values {
            let text = Self.canonical(value)
            #expect(Double(text) == value || (value == 0 && Double(text) == 0), "\(value.bitPattern): \(text)")
            #expect(try Self.canonical(parsing: text) == text, "\(value.bitPattern): \(text)")
        }
    }

    /// Format 1, kept to check audit rows hashed before format 2, makes the
    /// same bytes as before; ordinary numbers are written alike in both.
    @Test func theLegacyFormatIsUnchanged() throws {
        for (value, legacy) in [(1e16, "1e+16"), (1e15, "1000000000000000.0"), (1.5e-7, "1.5e-07"), (1e-5, "1e-05"), (1e21, "1e+21"), (-0.0, "0"), (100.0, "100")] {
            #expect(String(decoding: JSONValue.number(value).canonicalBytes(in: .legacy), as: UTF8.self) == legacy)
        }
        // Read as format 1 read it: by spelling.
        #expect(try JSONValue.parse(Array("100.0".utf8), format: .legacy) == .number(100))
        #expect(try Self.canonical(parsing: "1000000000000000.0", format: .legacy) == "1000000000000000.0")
        #expect(try Self.canonical(parsing: "[1e16, 7, -3, 12.5, 0.001]", format: .legacy) == "[1e+16,7,-3,12.5,0.001]")

        // Integers, and decimals of up to 15 significant digits from 1e-4 up
        // to 1e15, are written alike: rows holding only such numbers hash alike.
        var generator = SplitMix64(seed: 1)
        for _ in 0..<20_000 {
            let integer = JSONValue.integer(Int64.random(in: .min ... .max, using: &generator))
            #expect(integer.canonicalBytes(in: .legacy) == integer.canonicalBytes)
            let digits = Int64.random(in: 1...999_999_999_999_999, using: &generator)
            let decimal = Double("\(digits)e\(Int.random(in: -19...0, using: &generator))")!
            guard decimal >= 1e-4 else { continue }
            let number = JSONValue.number(Bool.random(using: &generator) ? decimal : -decimal)
            #expect(number.canonicalBytes(in: .legacy) == number.canonicalBytes, "\(number)")
        }
    }
}
