/// The kinds of agency the hub connects.
public enum AgencyKind: String, Sendable, Hashable, Codable, CaseIterable {
    case court
    case procuratorate
    /// 纪律检查委员会 / 监察委员会 (one body).
    case disciplineCommission = "discipline-commission"
    /// 生态环境局, its enforcement detachment and branches.
    case environmentBureau = "environment-bureau"
    /// 公安: receives crime transfers; no adapter kind of its own yet.
    case publicSecurity = "public-security"
}

public enum AgencyLevel: String, Sendable, Hashable, Codable {
    case city, county
}

/// An agency id: ASCII lower-case letters, digits and hyphens, so that it can
/// stand in a Kafka topic name (`casehub.from.<id>`).
public struct AgencyID: RawRepresentable, Sendable, Hashable, Codable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.isValid(rawValue) else { return nil }
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        precondition(Self.isValid(value), "invalid agency id literal \(value)")
        rawValue = value
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = AgencyID(rawValue: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "invalid agency id \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func isValid(_ text: String) -> Bool {
        (1...64).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
            && text.first != "-" && text.last != "-"
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { rawValue }
}

/// One agency of the registry.
public struct Agency: Sendable, Hashable, Codable {
    public var id: AgencyID
    public var kind: AgencyKind
    /// The official Chinese name, e.g. 株洲市天元区人民检察院.
    public var name: String
    /// Administrative division code (GB/T 2260), e.g. 430211.
    public var divisionCode: String
    public var level: AgencyLevel
    /// The supervising agency of the same kind (a county procuratorate's city procuratorate).
    public var parent: AgencyID?
    /// Court code used in case numbers (湘02, 湘0211), for courts.
    public var courtCode: String?
    /// The abbreviation a procuratorate's document numbers start with
    /// (株天检 in 株天检行公建〔2025〕7号). When set, the hub refuses
    /// procuratorate numbers from this agency that carry another.
    public var numberIssuer: String?
    /// The unit prefix of an environment bureau's penalty decision numbers
    /// (醴 in 株环罚字〔2025〕醴-24号). When set, checked like ``numberIssuer``.
    public var penaltyUnit: String?

    public init(id: AgencyID, kind: AgencyKind, name: String, divisionCode: String, level: AgencyLevel, parent: AgencyID? = nil,
                courtCode: String? = nil, numberIssuer: String? = nil, penaltyUnit: String? = nil) {
        self.id = id
        self.kind = kind
        self.name = name
        self.divisionCode = divisionCode
        self.level = level
        self.parent = parent
        self.courtCode = courtCode
        self.numberIssuer = numberIssuer
        self.penaltyUnit = penaltyUnit
    }
}
