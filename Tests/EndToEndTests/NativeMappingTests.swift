@testable import Adapters
import CaseModel
import Foundation
import TestSupport
import Testing

/// The built-in native-record tables, without a stack: every sample under
/// Schemas/native maps to a schema-valid event, and every kind of mistake
/// in a record or a table is reported precisely.
struct NativeMappingTests {
    static let native = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Schemas/native")

    /// The agency that sends each kind's samples.
    static let senders: [AgencyKind: AgencyID] = [
        .court: "zz-court", .procuratorate: "zz-procuratorate", .disciplineCommission: "zz-cdi", .environmentBureau: "zz-epb",
    ]

    static func samples(_ kind: AgencyKind) throws -> [(name: String, bytes: [UInt8], isXML: Bool)] {
        let folder = native.appendingPathComponent(kind.rawValue)
        return try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().map { name in
            (name, Array(try Data(contentsOf: folder.appendingPathComponent(name))), name.hasSuffix(".xml"))
        }
    }

    static func map(_ bytes: [UInt8], isXML: Bool, kind: AgencyKind) throws -> NativeMapping.Mapped {
        let record = isXML ? try NativeRecordReader.xml(bytes) : try NativeRecordReader.json(try JSONValue.parse(bytes))
        let sender = AgencyRegistry.zhuzhou[senders[kind]!]!
        return try NativeMappings.standard[kind]!.map(record, from: sender, registry: .zhuzhou, now: Date())
    }

    @Test(arguments: [AgencyKind.court, .procuratorate, .disciplineCommission, .environmentBureau])
    func everySampleMapsToASchemaValidEvent(kind: AgencyKind) throws {
        let samples = try Self.samples(kind)
        #expect(samples.count >= 2)
        for sample in samples {
            let mapped = try Self.map(sample.bytes, isXML: sample.isXML, kind: kind)
            guard let event = mapped.event else {
                #expect(mapped.rule.note != nil, "\(sample.name) maps to no event and says nothing about it")
                continue
            }
            #expect(EventCatalogue.standard.validate(data: event.data, of: event.type).isEmpty, "\(sample.name): \(event.data)")
            #expect(event.source == Self.senders[kind]!)
        }
    }

    @Test func valuesAreConvertedAndNumbersChecked() throws {
        let court = try Self.samples(.court)
        let accepted = try #require(try Self.map(court[0].bytes, isXML: true, kind: .court).event)
        #expect(accepted.type == "casehub.litigation.accepted.v1")
        #expect(accepted.data["acceptedOn"] == "2025-04-16")            // 2025年4月16日
        #expect(accepted.time == RFC3339.parse("2025-04-16T09:00:00+08:00"))  // 20250416090000, China time
        #expect(accepted.subject == "zz-epb:zz-sample-compensation-7")

        let bureau = try Self.samples(.environmentBureau)
        let assessed = try #require(try Self.map(bureau[0].bytes, isXML: false, kind: .environmentBureau).event)
        #expect(assessed.data["damageAmount"] == .number(1_862_000.5))  // "1,862,000.50"
        // Double() reads these too, but JSON has no NaN or infinity: refused, not sent as null.
        for amount in ["nan", "inf", "-Infinity", "1e999"] {
            var record = try #require(try JSONValue.parse(bureau[0].bytes).objectValue)
            record["damage_amount"] = .string(amount)
            #expect(performing: { try Self.map(JSONValue.object(record).canonicalBytes, isXML: false, kind: .environmentBureau) },
                    throws: { ($0 as? NativeRecordError)?.violations.map(\.path) == ["/damage_amount"] })
        }
        let suit = try #require(try Self.map(bureau[3].bytes, isXML: false, kind: .environmentBureau).event)
        #expect(suit.data["court"] == "zz-court")                        // by its full name
        #expect(suit.data["consultationFailedEventId"] == .string(NativeMapping.eventID(agency: "zz-epb", recordID: "ZHJ-PC-2025-0007-03")))
        let penalty = try #require(try Self.map(bureau[5].bytes, isXML: false, kind: .environmentBureau).event)
        #expect(penalty.type == .casePenaltyDecided)
        #expect(penalty.data["decisionNumber"] == "株环罚字〔2025〕醴-24号" && penalty.data["decidedOn"] == "2025-06-18")
        #expect(penalty.data["fineAmount"] == .number(200_000))

        let commission = try Self.samples(.disciplineCommission)
        let disposal = try #require(try Self.map(commission[1].bytes, isXML: false, kind: .disciplineCommission).event)
        #expect(disposal.data["disposal"] == "preliminary-verification")  // 初步核实
        #expect(disposal.data["reasons"] == ["线索具体，具有可查性"])
    }

    @Test func theSameRecordAlwaysGivesTheSameEventID() throws {
        let sample = try Self.samples(.procuratorate)[0]
        let first = try #require(try Self.map(sample.bytes, isXML: false, kind: .procuratorate).event)
        let second = try #require(try Self.map(sample.bytes, isXML: false, kind: .procuratorate).event)
        #expect(first.id == second.id)
        #expect(NativeMapping.eventID(agency: "zz-epb", recordID: "A") != NativeMapping.eventID(agency: "zz-court", recordID: "A"))
    }

    @Test func mistakesInARecordAreNamedByTheirNativeField() throws {
        func violations(_ xml: String) -> [Violation] {
            do {
                _ = try Self.map(Array(xml.utf8), isXML: true, kind: .court)
                return []
            } catch let error as NativeRecordError {
                return error.violations
            } catch {
                Issue.record("unexpected \(error)")
                return []
            }
        }
        let unknown = violations("<r><JLLX>XX</JLLX></r>")
        #expect(unknown.first?.path == "/JLLX")
        #expect(unknown.first?.message.contains("known: CP, KT, LA, SS, SX, ZX") == true)

        let broken = violations("""
            <r><JLLX>LA</JLLX><JLBH>1</JLBH><TYAJBS>c</TYAJBS><AH>（2025）湘0211民初5号</AH><LARQ>2025-02-30</LARQ></r>
            """)
        #expect(Set(broken.map(\.path)) == ["/AH", "/LARQ", "/AY"])
        // 湘0211 is 天元区人民法院's code, not 株洲市中级人民法院's.
        #expect(broken.first { $0.path == "/AH" }?.message.contains("湘02") == true)

        let badCode = violations("""
            <r><JLLX>CP</JLLX><JLBH>1</JLBH><TYAJBS>c</TYAJBS><SPCX>3</SPCX><CPXS>PJ</CPXS><CPWSH>（2025）湘02民初5号</CPWSH><CPJG>x</CPJG><SDRQ>20250601</SDRQ></r>
            """)
        #expect(badCode.map(\.path) == ["/SPCX"])
        #expect(badCode.first?.message.contains("unknown code '3' for instance") == true)
    }

    @Test func malformedAndNestedXMLAreRefused() {
        #expect(throws: NativeRecordError.self) { try NativeRecordReader.xml(Array("<r><JLLX>LA</r>".utf8)) }
        #expect(throws: NativeRecordError.self) { try NativeRecordReader.xml(Array("<r><A><B>x</B></A></r>".utf8)) }
        #expect(throws: NativeRecordError.self) { try NativeRecordReader.xml(Array("<r><A>1</A><A>2</A></r>".utf8)) }
    }

    @Test func aBrokenTableIsReportedWithWhereItBreaks() throws {
        func problem(_ json: String) -> String {
            do {
                _ = try NativeMapping(json: try JSONValue.parse(Array(json.utf8)))
                return ""
            } catch {
                return "\(error)"
            }
        }
        let base = #""kind": "court", "fields": {"recordType": "T", "recordId": "I", "caseId": "C"}"#
        #expect(problem("{\(base), \"records\": {\"A\": {\"event\": \"casehub.nope.v1\", \"data\": {}}}}").contains("/records/A/event"))
        #expect(problem("{\(base), \"records\": {\"A\": {\"event\": \"casehub.litigation.final.v1\", \"data\": {\"effectiveOn\": {\"from\": \"X\", \"as\": \"code:none\"}}}}}")
            .contains("no code table 'none'"))
        #expect(problem("{\"kind\": \"police\", \"fields\": {}, \"records\": {}}").contains("/kind"))
    }

    /// docs/adapters/<kind>.md must name every record type and native field of its table.
    @Test(arguments: [AgencyKind.court, .procuratorate, .disciplineCommission, .environmentBureau])
    func theKindsPageDocumentsItsWholeTable(kind: AgencyKind) throws {
        let page = try String(contentsOf: Self.native.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/adapters/\(kind.rawValue).md"), encoding: .utf8)
        let mapping = try #require(NativeMappings.standard[kind])
        func fields(_ specs: [String: NativeMapping.FieldSpec]) -> [String] {
            specs.values.flatMap { spec -> [String] in
                guard case .field(let from, _, _, _, _, let elements) = spec else { return [] }
                return (from.map { [$0] } ?? []) + fields(elements)
            }
        }
        for (type, rule) in mapping.records {
            #expect(page.contains("`\(type)`"), "\(kind.rawValue).md does not document record type \(type)")
            for field in fields(rule.data) {
                #expect(page.contains("`\(field)`"), "\(kind.rawValue).md does not document field \(field) of \(type)")
            }
        }
    }
}
