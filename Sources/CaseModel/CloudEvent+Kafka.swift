import Foundation

/// The CloudEvents Kafka protocol binding, binary mode, without depending on
/// the Kafka module: headers as ``RecordHeader``s, the payload as bytes.
extension CloudEvent {
    public static let contentTypeHeader = "content-type"

    /// `ce_*` headers plus `content-type`.
    public var binaryHeaders: [RecordHeader] {
        var headers = [
            RecordHeader(name: "ce_specversion", value: Self.specVersion),
            RecordHeader(name: "ce_id", value: id.description),
            RecordHeader(name: "ce_source", value: source.rawValue),
            RecordHeader(name: "ce_type", value: type.rawValue),
            RecordHeader(name: "ce_time", value: RFC3339.format(time)),
            RecordHeader(name: "ce_subject", value: subject),
            RecordHeader(name: Self.contentTypeHeader, value: "application/json"),
        ]
        for (name, value) in extensions.sorted(by: { $0.key < $1.key }) { headers.append(RecordHeader(name: "ce_\(name)", value: value)) }
        return headers
    }

    /// The Kafka record value: the payload's canonical JSON.
    public var binaryValue: [UInt8] { data.canonicalBytes }

    /// The structured-mode JSON with `data` spliced in as the bytes a record
    /// carried (this event's payload, already read as JSON), so that a
    /// payload passed on untouched is not serialised again. Canonical when the
    /// value is (the hub writes canonical values).
    public func structuredBytes(dataBytes: [UInt8]) -> [UInt8] {
        guard case .object(var members) = structured else { return structured.canonicalBytes }
        members.removeValue(forKey: "data")
        // Canonical order puts "data" first ("data" < "datacontenttype" < …).
        let rest = JSONValue.object(members).canonicalBytes
        return Array(#"{"data":"#.utf8) + dataBytes + [UInt8(ascii: ",")] + rest.dropFirst()
    }

    /// Reads a binary-mode record. Checks the same rules as structured mode.
    public init(binaryHeaders headers: [RecordHeader], value: [UInt8]) throws(EnvelopeError) {
        var object: [String: JSONValue] = [:]
        for header in headers {
            if header.name.hasPrefix("ce_") {
                object[String(header.name.dropFirst(3))] = .string(header.value)
            } else if header.name == Self.contentTypeHeader {
                object["datacontenttype"] = .string(header.value)
            }
        }
        do {
            object["data"] = try JSONValue.parse(value)
        } catch {
            throw EnvelopeError(violations: [Violation(path: "/data", rule: "type", message: "\(error)")])
        }
        try self.init(structured: .object(object))
    }
}
