import Foundation

/// The agencies the hub knows, by id.
public struct AgencyRegistry: Sendable {
    public private(set) var agencies: [AgencyID: Agency]

    public init(_ agencies: [Agency]) {
        self.agencies = Dictionary(agencies.map { ($0.id, $0) }, uniquingKeysWith: { _, last in last })
    }

    public enum LookupError: Error, CustomStringConvertible, Sendable, Equatable {
        case invalidID(String)
        case unknownAgency(String)

        public var description: String {
            switch self {
            case .invalidID(let text): "'\(text.prefix(80))' is not a valid agency id (lower-case ASCII letters, digits and hyphens)"
            case .unknownAgency(let text): "no agency with id '\(text)' is registered"
            }
        }
    }

    /// The agency with this id, or a clear error.
    public func agency(_ id: String) throws(LookupError) -> Agency {
        guard let agencyID = AgencyID(rawValue: id) else { throw .invalidID(id) }
        guard let agency = agencies[agencyID] else { throw .unknownAgency(id) }
        return agency
    }

    public subscript(id: AgencyID) -> Agency? { agencies[id] }

    /// Agencies in id order.
    public var all: [Agency] { agencies.values.sorted { $0.id < $1.id } }

    /// Adds or replaces agencies (a city's own registry file extends the default).
    public mutating func merge(_ more: [Agency]) {
        for agency in more { agencies[agency.id] = agency }
    }

    /// Reads agencies from a JSON array (the format ``all`` encodes to).
    public static func decode(json: Data) throws -> [Agency] {
        try JSONDecoder().decode([Agency].self, from: json)
    }
}

extension AgencyRegistry {
    /// The district or county units of Zhuzhou with their pinyin names,
    /// division codes and basic-court codes (DOMAIN.md).
    struct District {
        let pinyin: String
        let chinese: String
        let divisionCode: String
        let courtCode: String
    }

    static let zhuzhouDistricts: [District] = [
        District(pinyin: "hetang", chinese: "荷塘区", divisionCode: "430202", courtCode: "湘0202"),
        District(pinyin: "lusong", chinese: "芦淞区", divisionCode: "430203", courtCode: "湘0203"),
        District(pinyin: "shifeng", chinese: "石峰区", divisionCode: "430204", courtCode: "湘0204"),
        District(pinyin: "tianyuan", chinese: "天元区", divisionCode: "430211", courtCode: "湘0211"),
        District(pinyin: "lukou", chinese: "渌口区", divisionCode: "430212", courtCode: "湘0212"),
        District(pinyin: "youxian", chinese: "攸县", divisionCode: "430223", courtCode: "湘0223"),
        District(pinyin: "chaling", chinese: "茶陵县", divisionCode: "430224", courtCode: "湘0224"),
        District(pinyin: "yanling", chinese: "炎陵县", divisionCode: "430225", courtCode: "湘0225"),
        District(pinyin: "liling", chinese: "醴陵市", divisionCode: "430281", courtCode: "湘0281"),
    ]

    /// Zhuzhou, Hunan: the city-level agencies and, per district or county,
    /// a court, a procuratorate, a discipline commission, a police bureau and
    /// an environment-bureau branch. Ids are stable (DOMAIN.md).
    public static let zhuzhou: AgencyRegistry = {
        let city = "430200"
        var agencies: [Agency] = [
            Agency(id: "zz-epb", kind: .environmentBureau, name: "株洲市生态环境局", divisionCode: city, level: .city),
            Agency(id: "zz-epb-enforcement", kind: .environmentBureau, name: "株洲市生态环境保护综合行政执法支队", divisionCode: city, level: .city, parent: "zz-epb"),
            Agency(id: "zz-procuratorate", kind: .procuratorate, name: "株洲市人民检察院", divisionCode: city, level: .city),
            Agency(id: "zz-court", kind: .court, name: "株洲市中级人民法院", divisionCode: city, level: .city, courtCode: "湘02"),
            Agency(id: "zz-cdi", kind: .disciplineCommission, name: "中共株洲市纪律检查委员会 株洲市监察委员会", divisionCode: city, level: .city),
            Agency(id: "zz-psb", kind: .publicSecurity, name: "株洲市公安局", divisionCode: city, level: .city),
        ]
        for district in zhuzhouDistricts {
            // Districts are named under the city (株洲市天元区…); counties and the
            // county-level city by their own name (攸县…, 醴陵市…).
            let isDistrict = district.chinese.hasSuffix("区")
            let localName = isDistrict ? "株洲市" + district.chinese : district.chinese
            let shortName = String(district.chinese.dropLast()) // 天元, 攸, 醴陵
            agencies += [
                Agency(id: AgencyID(rawValue: "\(district.pinyin)-court")!, kind: .court,
                       name: localName + "人民法院", divisionCode: district.divisionCode, level: .county,
                       parent: "zz-court", courtCode: district.courtCode),
                Agency(id: AgencyID(rawValue: "\(district.pinyin)-procuratorate")!, kind: .procuratorate,
                       name: localName + "人民检察院", divisionCode: district.divisionCode, level: .county, parent: "zz-procuratorate"),
                Agency(id: AgencyID(rawValue: "\(district.pinyin)-cdi")!, kind: .disciplineCommission,
                       name: localName + "纪律检查委员会 监察委员会", divisionCode: district.divisionCode, level: .county, parent: "zz-cdi"),
                Agency(id: AgencyID(rawValue: "\(district.pinyin)-psb")!, kind: .publicSecurity,
                       name: isDistrict ? "株洲市公安局\(district.chinese)分局" : "\(district.chinese)公安局",
                       divisionCode: district.divisionCode, level: .county, parent: "zz-psb"),
                Agency(id: AgencyID(rawValue: "zz-epb-\(district.pinyin)")!, kind: .environmentBureau,
                       name: "株洲市生态环境局\(shortName.count == 1 ? district.chinese : shortName)分局",
                       divisionCode: district.divisionCode, level: .county, parent: "zz-epb"),
            ]
        }
        return AgencyRegistry(agencies)
    }()
}
