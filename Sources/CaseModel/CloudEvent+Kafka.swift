import Foundation

/// The CloudEvents Kafka protocol binding, binary mode, without depending on
/// the Kafka module: headers as (name, UTF-8 value) pairs, the payload as bytes.
extension CloudEvent {
    public static let contentTypeHeader = "content-type"

    /// `ce_*` headers plus `content-type`.
    public var binaryHeaders: [(String, String)] {
        var headers: [(String, String)] = [
            ("ce_specversion", Self.specVersion),
            ("ce_id", id),
            ("ce_source", source),
            ("ce_type", type),
            ("ce_time", RFC3339.format(time)),
            ("ce_subject", subject),
            (Self.contentTypeHeader, "application/json"),
        ]
        for (name, value) in extensions.sorted(by: { $0.key < $1.key }) { headers.append(("ce_\(name)", value)) }
        return headers
    }

    /// The Kafka record value: the payload's canonical JSON.
    public var binaryValue: [UInt8] { data.canonicalBytes }

    /// Reads a binary-mode record. Checks the same rules as structured mode.
    public init(binaryHeaders headers: [(String, String)], value: [UInt8]) throws(EnvelopeError) {
        var object: [String: JSONValue] = [:]
        for (name, text) in headers {
            if name.hasPrefix("ce_") {
                object[String(name.dropFirst(3))] = .string(text)
            } else if name == Self.contentTypeHeader {
                object["datacontenttype"] = .string(text)
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
