import CaseModel
import Foundation
import Postgres

/// A case as stored.
public struct CaseRecord: Sendable, Hashable {
    public var id: String
    public var procedure: String
    public var status: String
    public var holder: String?
    public var parties: [String]
    public var numbers: JSONValue
    public var version: Int64
    public var openedAt: Date
    public var updatedAt: Date

    public init(id: String, procedure: String, status: String, holder: String?, parties: [String],
                numbers: JSONValue = .object([:]), version: Int64, openedAt: Date, updatedAt: Date) {
        self.id = id
        self.procedure = procedure
        self.status = status
        self.holder = holder
        self.parties = parties
        self.numbers = numbers
        self.version = version
        self.openedAt = openedAt
        self.updatedAt = updatedAt
    }

    init(row: PostgresRow) throws {
        id = try row.decode("id")
        procedure = try row.decode("procedure")
        status = try row.decode("status")
        holder = try row.decode("holder", as: String?.self)
        parties = PostgresTextArray.parse(try row.decode("parties", as: String.self))
        numbers = try JSONValue.parse(Array(try row.decode("numbers", as: String.self).utf8))
        version = try row.decode("version")
        openedAt = try row.decode("opened_at")
        updatedAt = try row.decode("updated_at")
    }
}

/// A Kafka record waiting in the outbox.
public struct OutboxRecord: Sendable, Hashable {
    public var topic: String
    public var key: String?
    public var headers: [KafkaStyleHeader]
    public var value: [UInt8]

    public init(topic: String, key: String?, headers: [KafkaStyleHeader], value: [UInt8]) {
        self.topic = topic
        self.key = key
        self.headers = headers
        self.value = value
    }

    /// A CloudEvent in binary mode, to `topic`, keyed by its case id.
    public init(topic: String, event: CloudEvent) {
        self.init(topic: topic, key: event.subject,
                  headers: event.binaryHeaders.map { KafkaStyleHeader(name: $0.0, value: $0.1) },
                  value: event.binaryValue)
    }

    var headersJSON: JSONValue {
        .array(headers.map { .array([.string($0.name), .string($0.value)]) })
    }
}

/// A record header with a UTF-8 value (all CaseHub headers are text).
public struct KafkaStyleHeader: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A refused event as stored for administrators.
public struct RejectionRecord: Sendable, Hashable {
    public var eventID: String?
    public var source: String?
    public var topic: String
    public var caseID: String?
    public var type: String?
    /// Machine-readable refusal code, e.g. `envelope.invalid`, `sender.mismatch`.
    public var code: String
    /// Human-readable reason.
    public var reason: String
    public var violations: JSONValue
    public var headers: [KafkaStyleHeader]
    public var value: [UInt8]

    public init(eventID: String?, source: String?, topic: String, caseID: String?, type: String?, code: String,
                reason: String, violations: JSONValue = .array([]), headers: [KafkaStyleHeader], value: [UInt8]) {
        self.eventID = eventID
        self.source = source
        self.topic = topic
        self.caseID = caseID
        self.type = type
        self.code = code
        self.reason = reason
        self.violations = violations
        self.headers = headers
        self.value = value
    }

    var headersJSON: JSONValue {
        .array(headers.map { .array([.string($0.name), .string($0.value)]) })
    }
}

/// Parses PostgreSQL's text form of a one-dimensional `text[]`.
enum PostgresTextArray {
    static func parse(_ text: String) -> [String] {
        var result: [String] = []
        var characters = text.unicodeScalars.makeIterator()
        guard characters.next() == "{" else { return [] }
        var current = ""
        var inQuotes = false
        var quoted = false
        while let c = characters.next() {
            if inQuotes {
                if c == "\\" { if let next = characters.next() { current.unicodeScalars.append(next) } }
                else if c == "\"" { inQuotes = false }
                else { current.unicodeScalars.append(c) }
            } else if c == "\"" {
                inQuotes = true
                quoted = true
            } else if c == "," || c == "}" {
                if !current.isEmpty || quoted { result.append(current) }
                current = ""
                quoted = false
                if c == "}" { break }
            } else {
                current.unicodeScalars.append(c)
            }
        }
        return result
    }
}
