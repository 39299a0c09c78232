/// A CloudEvents `type`, e.g. `casehub.pil.recommendation-issued.v1`.
///
/// Any text an agency sends is representable (an unknown type is refused by
/// the hub with a reason, not lost at decoding); the known ones are named
/// constants generated from the catalogue (`EventType.pilRecommendationIssued`,
/// `EventType+Generated.swift`), so code never spells a type out.
public struct EventType: RawRepresentable, Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// The procedure segment, e.g. `pil` for `casehub.pil.filed.v1`.
    public var procedure: String {
        let parts = rawValue.split(separator: ".")
        return parts.count >= 3 ? String(parts[1]) : ""
    }

    public var description: String { rawValue }

    public static func < (lhs: EventType, rhs: EventType) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Types only the hub emits (receipts, deadline notices).
    public var isHubNotice: Bool { procedure == "hub" }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
