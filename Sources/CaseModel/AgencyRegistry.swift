public import Foundation

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

    /// The procuratorate that supervises an agency's law enforcement: the one
    /// of the same administrative division (a district bureau's district
    /// procuratorate, the city bureau's city procuratorate).
    public func supervisingProcuratorate(of agency: Agency) -> Agency? {
        agencies.values.filter { $0.kind == .procuratorate && $0.divisionCode == agency.divisionCode }.min { $0.id < $1.id }
    }

    /// Adds or replaces agencies (a city's own registry file extends the default).
    public mutating func merge(_ more: [Agency]) {
        for agency in more { agencies[agency.id] = agency }
    }

    /// A registry file's problems, each with the entry and field it concerns.
    public struct FileError: Error, CustomStringConvertible, Sendable {
        public let problems: [String]
        public var description: String { "agency registry file: " + problems.joined(separator: "; ") }
    }

    /// Reads a registry file — a JSON array of agencies, as ``Agency`` encodes —
    /// and adds its agencies to this registry (same id: replaced). Every
    /// problem is reported at once: invalid ids, unknown kinds or levels,
    /// missing fields, duplicates, parents that do not exist.
    public func extended(withFile json: Data) throws(FileError) -> AgencyRegistry {
        let document: JSONValue
        do {
            document = try JSONValue.parse(Array(json))
        } catch {
            throw FileError(problems: ["\(error)"])
        }
        guard case .array(let entries) = document else {
            throw FileError(problems: ["the file must hold a JSON array of agencies"])
        }
        var problems: [String] = []
        var added: [Agency] = []
        var seen = Set<AgencyID>()
        for (index, entry) in entries.enumerated() {
            let at = "agencies[\(index)]"
            func text(_ key: String, required: Bool = true) -> String? {
                switch entry[key] {
                case .string(let value) where !value.isEmpty: return value
                case nil, .null?: if required { problems.append("\(at).\(key) is missing") }
                default: problems.append("\(at).\(key) must be a non-empty string")
                }
                return nil
            }
            let idText = text("id")
            let id = idText.flatMap(AgencyID.init(rawValue:))
            if let idText, id == nil { problems.append("\(at).id '\(idText.prefix(80))' is not a valid agency id (lower-case ASCII letters, digits, hyphens)") }
            if let id, !seen.insert(id).inserted { problems.append("\(at).id '\(id)' appears twice") }
            let kindText = text("kind")
            let kind = kindText.flatMap(AgencyKind.init(rawValue:))
            if let kindText, kind == nil {
                problems.append("\(at).kind '\(kindText.prefix(40))' is unknown (\(AgencyKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            let levelText = text("level")
            let level = levelText.flatMap(AgencyLevel.init(rawValue:))
            if let levelText, level == nil { problems.append("\(at).level '\(levelText.prefix(40))' is unknown (city, county)") }
            let name = text("name")
            let division = text("divisionCode")
            if let division, !(division.count == 6 && division.allSatisfy(\.isNumber)) {
                problems.append("\(at).divisionCode '\(division.prefix(20))' must be a 6-digit division code")
            }
            let parentText = text("parent", required: false)
            let parent = parentText.flatMap(AgencyID.init(rawValue:))
            if let parentText, parent == nil { problems.append("\(at).parent '\(parentText.prefix(80))' is not a valid agency id") }
            if let id, let kind, let level, let name, let division {
                added.append(Agency(id: id, kind: kind, name: name, divisionCode: division, level: level,
                                    parent: parent, courtCode: text("courtCode", required: false),
                                    numberIssuer: text("numberIssuer", required: false), penaltyUnit: text("penaltyUnit", required: false)))
            }
        }
        var result = self
        result.merge(added)
        for agency in added {
            if let parent = agency.parent, result[parent] == nil {
                problems.append("agency \(agency.id): parent '\(parent)' is not registered")
            }
        }
        guard problems.isEmpty else { throw FileError(problems: problems) }
        return result
    }
}

extension AgencyRegistry {
    /// The district or county units of Zhuzhou with their pinyin names,
    /// administrative division codes and basic-court codes.
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
    /// an environment-bureau branch. Ids are stable: events and cases refer
    /// to them, so an id is never renamed or reused.
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
