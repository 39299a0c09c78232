import CaseModel
import Foundation
import Testing

struct AgencyRegistryTests {
    @Test func theDefaultRegistryHoldsZhuzhousAgenciesWithStableIDs() throws {
        let registry = AgencyRegistry.zhuzhou
        for id in ["zz-epb", "zz-epb-enforcement", "zz-procuratorate", "zz-court", "zz-cdi", "zz-psb",
                   "tianyuan-court", "liling-procuratorate", "youxian-cdi", "lukou-psb", "zz-epb-shifeng"] {
            #expect(registry[AgencyID(rawValue: id)!] != nil, "\(id)")
        }
        #expect(registry.all.count == 6 + 9 * 5)
        let court = try registry.agency("tianyuan-court")
        #expect(court.name == "株洲市天元区人民法院" && court.courtCode == "湘0211" && court.parent == "zz-court" && court.level == .county)
        #expect(try registry.agency("youxian-procuratorate").name == "攸县人民检察院")
        #expect(try registry.agency("zz-epb-liling").name == "株洲市生态环境局醴陵分局")
        #expect(try registry.agency("zz-court").courtCode == "湘02")
        // Ids are usable in Kafka topic names.
        #expect(registry.all.allSatisfy { $0.id.rawValue.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") } })
    }

    @Test func unknownAndInvalidIDsAreClearErrors() {
        #expect(throws: AgencyRegistry.LookupError.unknownAgency("zz-nowhere")) { try AgencyRegistry.zhuzhou.agency("zz-nowhere") }
        #expect(throws: AgencyRegistry.LookupError.invalidID("ZZ Court")) { try AgencyRegistry.zhuzhou.agency("ZZ Court") }
    }

    @Test func aFileExtendsTheRegistry() throws {
        let file = Data("""
        [{"id": "yunlong-court", "kind": "court", "name": "云龙示范区法庭", "divisionCode": "430271", "level": "county", "parent": "zz-court"},
         {"id": "zz-court", "kind": "court", "name": "株洲市中级人民法院", "divisionCode": "430200", "level": "city", "courtCode": "湘02"}]
        """.utf8)
        let registry = try AgencyRegistry.zhuzhou.extended(withFile: file)
        #expect(try registry.agency("yunlong-court").divisionCode == "430271")
        #expect(registry.all.count == AgencyRegistry.zhuzhou.all.count + 1)
    }

    @Test func aBadFileListsEveryProblem() {
        let file = Data("""
        [{"id": "Bad Id", "kind": "court", "name": "x", "divisionCode": "430200", "level": "city"},
         {"id": "ok-one", "kind": "tax-office", "name": "x", "divisionCode": "4302", "level": "province"},
         {"id": "ok-two", "kind": "court", "divisionCode": "430200", "level": "city", "parent": "no-such-court"},
         {"id": "ok-three", "kind": "court", "name": "x", "divisionCode": "430200", "level": "city", "parent": "no-such-court"}]
        """.utf8)
        #expect {
            _ = try AgencyRegistry.zhuzhou.extended(withFile: file)
        } throws: { error in
            let text = "\(error)"
            return text.contains("agencies[0].id 'Bad Id' is not a valid agency id")
                && text.contains("agencies[1].kind 'tax-office' is unknown")
                && text.contains("agencies[1].divisionCode '4302' must be a 6-digit division code")
                && text.contains("agencies[1].level 'province' is unknown")
                && text.contains("agencies[2].name is missing")
                && text.contains("agency ok-three: parent 'no-such-court' is not registered")
        }
    }
}
