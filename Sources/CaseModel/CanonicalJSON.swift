/// The canonical serialisation of a ``JSONValue``: what the audit trail,
/// event signatures and content hashes are taken over. Keys sorted (by
/// Swift's string order), no insignificant whitespace, strings with only `"`,
/// `\` and control characters escaped (`/` as is), and numbers as RFC 8785
/// writes them. Only the numbers follow RFC 8785: key order and string
/// escapes are the hub's own, as they have always been.
extension JSONValue {
    /// The versions of the canonical form. A hash or signature over canonical
    /// bytes can only be checked by making the same bytes again, so what is
    /// kept with a hash says in which format it was taken (the audit trail's
    /// `hash_format`).
    public enum CanonicalFormat: Int, Sendable {
        /// Until the audit trail recorded formats. A double was written as
        /// Swift prints it (`1e+16`, `1.5e-07`, `1000000000000000.0`) unless
        /// it was whole and below 1e15, and a number was `.integer` only when
        /// spelled with digits alone. PostgreSQL's jsonb keeps a number's
        /// value but not its spelling (`1e16` comes back as
        /// `10000000000000000`), so some of those hashes cannot be made again
        /// from the stored rows.
        case legacy = 1
        /// Numbers read by value and written as RFC 8785 (ECMAScript) does: a
        /// number's canonical form depends on its value alone, which jsonb
        /// keeps. Whole numbers that fit in 64 bits are plain digits, exactly;
        /// other numbers are doubles, in ECMAScript's shortest form.
        case rfc8785Numbers = 2

        public static let current = CanonicalFormat.rfc8785Numbers
    }

    /// The canonical bytes in the current format: the same value always gives
    /// the same bytes, and reading them back (even through PostgreSQL's
    /// jsonb, which respells numbers) gives a value with the same bytes.
    public var canonicalBytes: [UInt8] { canonicalBytes(in: .current) }

    public var canonicalString: String { String(decoding: canonicalBytes, as: UTF8.self) }

    /// The canonical bytes in a given format (older ones to check old hashes).
    public func canonicalBytes(in format: CanonicalFormat) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, format: format)
        return out
    }

    private func write(into out: inout [UInt8], format: CanonicalFormat) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .integer(let value): out += Array(String(value).utf8)
        case .number(let value): out += Array(Self.canonicalText(of: value, in: format).utf8)
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.write(into: &out, format: format)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                members[key]!.write(into: &out, format: format)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// A double's text. NaN and the infinities have none in JSON: the parser
    /// never makes them, and one built in code is written `null` (RFC 8785
    /// would refuse it; a total function keeps hashing from failing, and
    /// `null` is also what the stored form reads back as, so the hash still
    /// verifies).
    static func canonicalText(of value: Double, in format: CanonicalFormat) -> String {
        guard value.isFinite else { return "null" }
        switch format {
        case .legacy:
            return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
        case .rfc8785Numbers:
            return ECMAScriptNumber.format(value)
        }
    }

    private static func writeString(_ value: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case 0x0A: out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case 0x0D: out += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case 0x09: out += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
