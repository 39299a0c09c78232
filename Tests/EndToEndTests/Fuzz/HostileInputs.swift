import CaseModel
import Foundation
import TestSupport

/// One hostile (or merely odd) request to an adapter.
struct HostileRequest: Sendable {
    var label: String
    var agency: String
    /// `events` or `records`.
    var path: String
    var body: [UInt8]
    var contentType = "application/json"
}

/// Generates hostile inputs for the adapters' HTTP API from the published
/// examples (`Schemas/examples`) and native samples (`Schemas/native`):
/// malformed and mutated JSON and XML, wrong types, huge strings and arrays,
/// deep nesting, invalid UTF-8, broken CloudEvents attributes, unknown
/// types, wrong senders, reused ids, out-of-turn events, odd dates and
/// injection in every text field.
struct HostileInputs {
    /// Agencies whose paths the HTTP inputs use, with their native-record kind.
    static let agencies: [(id: String, kind: AgencyKind)] = [
        ("zz-epb", .environmentBureau), ("zz-procuratorate", .procuratorate), ("zz-court", .court),
    ]

    static let injections = [
        "'; DROP TABLE cases; --", "\" OR 1=1 --", "<script>alert(1)</script>", "<img src=x onerror=alert(2)>",
        "{{7*7}}${7*7}", "../../../../etc/passwd", "\u{202E}gnp.exe", "\u{0}null\u{0}byte", "😀🔥\u{FE0F}", "𠜎𠜱𠝹",
        String(repeating: "案", count: 500), "%s%s%n", "\\u0000", "\r\nX-Injected: 1",
    ]

    static let oddTimes = [
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59+08:00", "2026-02-30T10:00:00+08:00", "2026-13-01T00:00:00Z",
        "1970-01-01T00:00:00Z", "2026-11-29T25:61:61Z", "2026-11-29", "yesterday", "", "2026-11-29T10:00:00.123456789+14:00",
    ]

    let examples: [(type: String, data: JSONValue, valid: Bool)]
    let natives: [AgencyKind: [(bytes: [UInt8], isXML: Bool)]]
    var rng: SplitMix64
    /// Ids already generated, to reuse with other content.
    private var usedIDs: [(agency: String, id: String)] = []

    init(seed: UInt64) throws {
        rng = SplitMix64(seed: seed)
        let root = PackagePaths.root.appendingPathComponent("Schemas/examples")
        var examples: [(String, JSONValue, Bool)] = []
        for type in try FileManager.default.contentsOfDirectory(atPath: root.path).sorted() {
            for file in try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(type).path).sorted() {
                let data = try JSONValue.parse(Array(try Data(contentsOf: root.appendingPathComponent(type).appendingPathComponent(file))))
                examples.append((type, data, file.hasPrefix("valid")))
            }
        }
        self.examples = examples
        var natives: [AgencyKind: [(bytes: [UInt8], isXML: Bool)]] = [:]
        for (_, kind) in Self.agencies {
            natives[kind] = try NativeMappingTests.samples(kind).map { ($0.bytes, $0.isXML) }
        }
        self.natives = natives
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &rng)] }
    mutating func chance(_ percent: Int) -> Bool { Int.random(in: 0..<100, using: &rng) < percent }

    /// A well-formed envelope around an example payload.
    mutating func envelope(source: String, valid: Bool = true) -> JSONValue {
        let candidates = examples.filter { $0.valid == valid }
        let example = pick(candidates.isEmpty ? examples : candidates)
        let id = UUID(uuidString: String(format: "%08x-%04x-4%03x-8%03x-%012llx", UInt32.random(in: 0...UInt32.max, using: &rng),
                                         UInt16.random(in: 0...UInt16.max, using: &rng), UInt16.random(in: 0...0xfff, using: &rng),
                                         UInt16.random(in: 0...0xfff, using: &rng), UInt64.random(in: 0...0xffff_ffff_ffff, using: &rng)))!
            .uuidString.lowercased()
        usedIDs.append((source, id))
        return .object([
            "specversion": "1.0", "id": .string(id), "source": .string(source), "type": .string(example.type),
            "time": "2026-11-29T09:00:00+08:00", "subject": .string("fuzz-\(Int.random(in: 0..<40, using: &rng))"), "data": example.data,
        ])
    }

    static func replacing(_ key: String, in value: JSONValue, with new: JSONValue?) -> JSONValue {
        guard case .object(var members) = value else { return value }
        members[key] = new
        return .object(members)
    }

    /// Every string in `value` replaced by one of the injections.
    mutating func injected(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string: return .string(pick(Self.injections))
        case .array(let items): return .array(items.map { injected($0) })
        case .object(let members): return .object(members.mapValues { injected($0) })
        default: return value
        }
    }

    /// Some fields of an object given another JSON type.
    mutating func retyped(_ value: JSONValue) -> JSONValue {
        guard case .object(var members) = value, !members.isEmpty else { return .array([value]) }
        for key in members.keys where chance(50) {
            members[key] = pick([.integer(-1), .number(1e308), .bool(true), .null, .array([]), .object([:]), .string(""),
                                 .integer(Int64.max), .array([.null, .string("x")])])
        }
        return .object(members)
    }

    mutating func next() -> HostileRequest {
        let (agency, kind) = pick(Self.agencies)
        func request(_ label: String, _ json: JSONValue) -> HostileRequest {
            HostileRequest(label: label, agency: agency, path: "events", body: json.canonicalBytes)
        }
        switch Int.random(in: 0..<22, using: &rng) {
        case 0: return request("valid example", envelope(source: agency))
        case 1: return request("invalid example", envelope(source: agency, valid: false))
        case 2:
            let attribute = pick(["specversion", "id", "source", "type", "time", "subject", "data"])
            return request("without \(attribute)", Self.replacing(attribute, in: envelope(source: agency), with: nil))
        case 3: return request("attributes retyped", retyped(envelope(source: agency)))
        case 4:
            let type = pick(["casehub.nothing.here.v1", "casehub.case.opened.v2", "CASEHUB.CASE.OPENED.V1", "", "casehub..v1", String(repeating: "a", count: 300)])
            return request("unknown type", Self.replacing("type", in: envelope(source: agency), with: .string(type)))
        case 5:
            let other = pick(["zz-cdi", "zz-nowhere", "ZZ-EPB", "", "zz-epb ", "../zz-court"] + Self.agencies.map(\.id).filter { $0 != agency })
            return request("other source", Self.replacing("source", in: envelope(source: agency), with: .string(other)))
        case 6:
            var event = envelope(source: agency)
            event = Self.replacing("data", in: event, with: .object(["summary": .string(String(repeating: "长", count: 30_000))]))
            return request("huge string", event)
        case 7:
            let data = JSONValue.object(["items": .array((0..<Int.random(in: 1_000...60_000, using: &rng)).map { .integer(Int64($0)) })])
            return request("huge array", Self.replacing("data", in: envelope(source: agency), with: data))
        case 8:
            let depth = Int.random(in: 200...5_000, using: &rng)
            let text = #"{"specversion":"1.0","data":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
            return HostileRequest(label: "deep nesting \(depth)", agency: agency, path: "events", body: Array(text.utf8))
        case 9:
            var bytes = envelope(source: agency).canonicalBytes
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                bytes.insert(contentsOf: pick([[0xFF], [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF]]),
                             at: Int.random(in: 0...bytes.count, using: &rng))
            }
            return HostileRequest(label: "invalid UTF-8", agency: agency, path: "events", body: bytes)
        case 10:
            let bytes = envelope(source: agency).canonicalBytes
            return HostileRequest(label: "truncated", agency: agency, path: "events", body: Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &rng))))
        case 11:
            let bytes = (0..<Int.random(in: 0...2_000, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            return HostileRequest(label: "random bytes", agency: agency, path: pick(["events", "records"]), body: bytes)
        case 12:
            var bytes = envelope(source: agency).canonicalBytes
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            return HostileRequest(label: "bytes flipped", agency: agency, path: "events", body: bytes)
        case 13: return request("injection in every text", injected(envelope(source: agency)))
        case 14: return request("odd time", Self.replacing("time", in: envelope(source: agency), with: .string(pick(Self.oddTimes))))
        case 15:
            // An id already used (maybe accepted) sent again with other content.
            guard let (owner, id) = usedIDs.isEmpty ? nil : pick(usedIDs) else { return request("valid example", envelope(source: agency)) }
            var event = envelope(source: owner)
            event = Self.replacing("id", in: event, with: .string(id))
            return HostileRequest(label: "id reused", agency: owner, path: "events", body: event.canonicalBytes)
        case 16:
            let batch = JSONValue.array((0..<Int.random(in: 0...6, using: &rng)).map { _ in
                chance(70) ? envelope(source: agency) : retyped(envelope(source: agency))
            })
            return request("batch", batch)
        case 17:
            // Valid against the schema, but out of turn for the procedure (the hub refuses it).
            let late = examples.filter { $0.valid && !$0.type.hasSuffix(".opened.v1") && !$0.type.contains("clue") }
            var event = envelope(source: agency)
            let example = pick(late)
            event = Self.replacing("type", in: event, with: .string(example.type))
            event = Self.replacing("data", in: event, with: example.data)
            return request("out of turn", event)
        case 18:
            return HostileRequest(label: "odd document", agency: agency, path: pick(["events", "records"]),
                                  body: Array(pick(["", "null", "[]", "{}", "0", "\"x\"", "true", "[{}]", "{\"a\":}", "\u{FEFF}{}"]).utf8))
        case 19:
            return nativeRecord(agency: agency, kind: kind)
        case 20:
            let extra = pick(["signature", "datacontenttype", "dataschema", "traceparent", "Upper", "x_y", String(repeating: "e", count: 30)])
            return request("extension attribute", Self.replacing(extra, in: envelope(source: agency), with: pick([.string("x"), .integer(1), .object([:])])))
        default:
            return request("subject odd", Self.replacing("subject", in: envelope(source: agency),
                                                         with: .string(pick(["", String(repeating: "s", count: 200), "a/b", "\u{0}", "案件", " "]))))
        }
    }

    /// A native record of the agency's kind, mutated.
    mutating func nativeRecord(agency: String, kind: AgencyKind) -> HostileRequest {
        let sample = pick(natives[kind] ?? [])
        if sample.isXML {
            let text = String(decoding: sample.bytes, as: UTF8.self)
            let body: String = switch Int.random(in: 0..<6, using: &rng) {
            case 0: """
                <?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\
                <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">\
                <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">]><record><AH>&f;</AH></record>
                """
            case 1: #"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><record><AH>&x;</AH></record>"#
            case 2: String(text.prefix(Int.random(in: 0..<max(1, text.count), using: &rng)))
            case 3: text.replacingOccurrences(of: "</", with: "<")
            case 4: "<record>" + String(repeating: "<a>", count: 500) + "</record>"
            default: text.replacingOccurrences(of: ">", with: ">" + pick(Self.injections).replacingOccurrences(of: "<", with: "&lt;"), options: [], range: nil)
            }
            return HostileRequest(label: "native XML", agency: agency, path: "records", body: Array(body.utf8), contentType: "application/xml")
        }
        guard case .object(var fields)? = try? JSONValue.parse(sample.bytes) else {
            return HostileRequest(label: "native JSON", agency: agency, path: "records", body: sample.bytes)
        }
        for key in fields.keys where chance(30) {
            fields[key] = chance(50) ? nil : pick([.string(pick(Self.injections)), .integer(7), .null, .array([]), .string(pick(Self.oddTimes))])
        }
        return HostileRequest(label: "native JSON", agency: agency, path: "records", body: JSONValue.object(fields).canonicalBytes)
    }
}
