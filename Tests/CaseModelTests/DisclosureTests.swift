import CaseModel
import Crypto
import Foundation
import Testing
import TestSupport

/// The need-to-know rule (`Schemas/disclosure.json`): valid against its own
/// schema, compiled in as published, naming every delivery the procedures
/// make, and applied field by field.
struct DisclosureTests {
    static let schemas = PackagePaths.root.appendingPathComponent("Schemas")

    static func read(_ name: String) throws -> JSONValue {
        try JSONValue.parse(Array(try Data(contentsOf: schemas.appendingPathComponent(name))))
    }

    @Test func theRuleKeepsToItsSchemaAndIsCompiledAsPublished() throws {
        let schema = try Self.read("disclosure.schema.json")
        let published = try Self.read("disclosure.json")
        let validator = try JSONSchemaValidator(documents: [schema])
        let id = try #require(schema["$id"]?.stringValue)
        #expect(validator.validate(published, against: id).isEmpty, "\(validator.validate(published, against: id))")
        #expect(Disclosure.standard.document == published, "Schemas/disclosure.json changed: run `make schemas`")
        // The schema's check bites: an unknown role, a field set that is neither, a bad pointer.
        var broken = published
        if case .object(var procedures) = broken["procedures"], case .object(var referral) = procedures["referral"],
           case .object(var deliveries) = referral["deliveries"] {
            deliveries["casehub.referral.submitted.v1"] = ["receiver": "all", "addressee": "some"]
            deliveries["casehub.referral.accepted.v1"] = ["holder": ["suspects"]]
            referral["deliveries"] = .object(deliveries)
            procedures["referral"] = .object(referral)
            if case .object(var root) = broken { root["procedures"] = .object(procedures); broken = .object(root) }
        }
        let paths = Set(validator.validate(broken, against: id).map(\.path))
        #expect(paths.isSuperset(of: ["/procedures/referral/deliveries/casehub.referral.submitted.v1/addressee",
                                      "/procedures/referral/deliveries/casehub.referral.accepted.v1/holder/0"]), "\(paths)")
    }

    /// Every delivery a procedure makes (found by ``ProcedureExplorer``) is
    /// named by the rule, so none is withheld by omission; and the rule names
    /// no delivery that never happens, but two the explorer does not reach:
    /// to a supervisor (that needs a second case under transfer, as the
    /// parallel compensation rule needs a second case), and a penalty
    /// decision (the explorer tries that type once per state, by one party).
    @Test func theRuleNamesEveryDeliveryTheProceduresMake() throws {
        let rule = Disclosure.standard.document
        var unnamed: [String] = []
        var unused: [String] = []
        for findings in ProcedureTablesTests.findings {
            let declared = rule["procedures"]?[findings.procedure.rawValue]?["deliveries"]?.objectValue ?? [:]
            for (type, roles) in findings.deliveries {
                for role in roles where declared[type.rawValue]?.objectValue?.keys.contains(role.rawValue) != true {
                    unnamed.append("\(findings.procedure.rawValue) \(type) to \(role.rawValue)")
                }
            }
            for (type, entry) in declared {
                for role in (entry.objectValue ?? [:]).keys where role != "why" && role != RecipientRole.supervisor.rawValue
                    && type != EventType.casePenaltyDecided.rawValue {
                    if findings.deliveries[EventType(rawValue: type)]?.contains(RecipientRole(rawValue: role)!) != true {
                        unused.append("\(findings.procedure.rawValue) \(type) to \(role)")
                    }
                }
            }
            #expect(!findings.deliveries.isEmpty, "\(findings.procedure): the explorer saw no delivery")
        }
        #expect(unnamed.isEmpty, "deliveries the rule does not name (withheld by omission):\n\(unnamed.sorted().joined(separator: "\n"))")
        #expect(unused.isEmpty, "the rule names deliveries that never happen:\n\(unused.sorted().joined(separator: "\n"))")
        // Every field a rule lists is a field of the type's schema.
        for (procedure, types) in rule["procedures"]?.objectValue ?? [:] {
            for (type, entry) in types["deliveries"]?.objectValue ?? [:] {
                let schema = try #require(EventCatalogue.standard.schema(of: EventType(rawValue: type)), "\(procedure): unknown type \(type)")
                for case .array(let pointers) in (entry.objectValue ?? [:]).values {
                    for pointer in pointers.compactMap(\.stringValue) {
                        #expect(Self.schema(schema, has: pointer), "\(procedure) \(type): \(pointer) is no field of its schema")
                    }
                }
            }
        }
        for (type, pointers) in rule["personal"]?.objectValue ?? [:] {
            let schema = try #require(EventCatalogue.standard.schema(of: EventType(rawValue: type)))
            for pointer in pointers.arrayValue?.compactMap(\.stringValue) ?? [] {
                #expect(Self.schema(schema, has: pointer), "personal \(type): \(pointer)")
            }
        }
    }

    /// Whether a pointer names a property of an (inline) payload schema.
    static func schema(_ schema: JSONValue, has pointer: String) -> Bool {
        var node = schema
        for token in pointer.split(separator: "/").map(String.init) {
            // Member lookups, not `== nil`: a JSONValue optional compares with JSON null.
            guard let next = token == "*" ? node.objectValue?["items"] : node.objectValue?["properties"]?.objectValue?[token] else { return false }
            node = next
        }
        return true
    }

    static let suspects: JSONValue = [
        ["kind": "organisation", "name": "某化工有限公司", "creditCode": "91430200MA4L0XXXX1"],
        ["kind": "person", "name": "张某", "idNumber": "43020019800101123X", "phone": "13800000000", "address": "株洲市天元区某路1号"],
    ]

    static func transfer(signedBy key: Curve25519.Signing.PrivateKey) throws -> CloudEvent {
        try EventSignature.sign(CloudEvent(
            source: "zz-epb", type: .crimeTransferred, time: Date(timeIntervalSince1970: 1_780_000_000), subject: "zz-epb:case-1",
            data: ["police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "株环移〔2026〕2号",
                   "materials": [["kind": "transfer-letter", "attachment": ["name": "移送书.pdf", "sha256": .string(String(repeating: "a", count: 64)), "size": 1]]],
                   "suspects": suspects]), with: key)
    }

    @Test func thePoliceReceiveTheSuspectsIdentityTheSupervisingProcuratorateDoesNot() throws {
        let key = Curve25519.Signing.PrivateKey()
        let event = try Self.transfer(signedBy: key)
        let rule = Disclosure.standard
        let police = try #require(rule.fieldSet(for: .crimeTransferred, in: .crimeTransfer, to: [.police]))
        #expect(Disclosure.applying(police, to: event) == event, "the police receive the transfer whole, the sender's signature with it")

        let procuratorate = try #require(rule.fieldSet(for: .crimeTransferred, in: .crimeTransfer, to: [.procuratorate]))
        let copied = Disclosure.applying(procuratorate, to: event)
        #expect(copied.data["suspects"] == [["kind": "organisation", "name": "某化工有限公司", "creditCode": "91430200MA4L0XXXX1"],
                                            ["kind": "person", "name": "张某"]])
        #expect(copied.data["materials"] == event.data["materials"] && copied.data["transferNumber"] == event.data["transferNumber"])
        // The sender's signature no longer covers it: the key's id says who signed the whole.
        #expect(copied.extensions[EventSignature.attribute] == nil)
        #expect(copied.extensions[Disclosure.senderKeyAttribute] == EventSignature.keyID(of: key.publicKey))
        #expect(copied.extensions[Disclosure.disclosureAttribute] == "partial")
        // A transfer with no suspects keeps every field it has: whole, signature and all.
        var plain = event
        if case .object(var data) = plain.data { data.removeValue(forKey: "suspects"); plain.data = .object(data) }
        plain = try EventSignature.sign(plain, with: key)
        #expect(Disclosure.applying(procuratorate, to: plain) == plain)
        // Police and procuratorate at once (never so, but a union is the widest).
        #expect(rule.fieldSet(for: .crimeTransferred, in: .crimeTransfer, to: [.procuratorate, .police]) == .all)
    }

    @Test func theHubsOwnTopicsLeaveThePersonalDataOut() throws {
        let event = try Self.transfer(signedBy: Curve25519.Signing.PrivateKey())
        let fed = try #require(Disclosure.standard.forFeed(.changes, event))
        #expect(fed.data["suspects"]?[1] == ["kind": "person", "name": "张某"])
        #expect(fed.extensions[Disclosure.disclosureAttribute] == "partial")
        let referral = CloudEvent(source: "zz-epb", type: .referralSubmitted, time: Date(), subject: "zz-epb:r",
                                  data: ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"])
        #expect(Disclosure.standard.forFeed(.changes, referral) == nil, "nothing personal: the event as it is")
        let value = try #require(Disclosure.standard.forFeed(.rejected, value: event.data.canonicalBytes, of: .crimeTransferred))
        #expect(!String(decoding: value, as: UTF8.self).contains("43020019800101123X"))
        #expect(Disclosure.standard.forFeed(.rejected, value: Array("not json".utf8), of: .crimeTransferred) == nil)
    }

    @Test func theReferrerOfAClueIsToldTheOutcomeNotTheCommissionsHandling() {
        let rule = Disclosure.standard
        for type in [EventType.accountabilityDisposalChosen, .accountabilityInquiryReplied, .accountabilityVerificationConcluded,
                     .accountabilityReviewFiled, .accountabilitySanctionDecided, .caseLinked] {
            #expect(rule.fieldSet(for: type, in: .accountability, to: [.holder]) == nil, "\(type)")
        }
        #expect(rule.fieldSet(for: .accountabilityFeedbackSent, in: .accountability, to: [.holder]) == .all)
        #expect(rule.fieldSet(for: .accountabilityClueReferred, in: .accountability, to: [.commission]) == .all)
        let view = rule.caseView(in: .accountability, for: [.holder])
        #expect(view.fields == ["title", "numbers", "openedAt", "deadlines"] && view.numbersOf == [.holder])
        #expect(view.deadlines == ["accountability.disposal", "accountability.feedback"])
        #expect(rule.caseView(in: .accountability, for: [.commission]) == .all)
        // A role the rule does not name sees the least, and receives nothing.
        #expect(rule.caseView(in: .accountability, for: [.court]) == .minimal)
        #expect(rule.fieldSet(for: .accountabilityFeedbackSent, in: .accountability, to: [.court]) == nil)
    }

    @Test func thePoliceLearnOnlyThatSupervisionWasRequested() throws {
        let fields = try #require(Disclosure.standard.fieldSet(for: .crimeSupervisionRequested, in: .crimeTransfer, to: [.police]))
        let event = CloudEvent(source: "zz-epb", type: .crimeSupervisionRequested, time: Date(), subject: "zz-epb:c",
                               data: ["procuratorate": "zz-procuratorate", "reasons": ["应当立案而不立案"]])
        let told = Disclosure.applying(fields, to: event)
        #expect(told.data == [:] && told.type == event.type && told.id == event.id && told.time == event.time)
    }

    @Test func aSupervisorIsTheRoleOfARecipientNotPartyToTheCase() throws {
        let machine = CaseMachine(registry: .zhuzhou)
        let report = CloudEvent(source: "zz-epb", type: .crimeCaseReported, time: Date(), subject: "zz-epb:c", data: ["summary": "渗坑排放"])
        let state = try machine.apply(report, by: AgencyRegistry.zhuzhou["zz-epb"]!, at: Date(), to: nil).get().state
        #expect(Disclosure.roles(of: "zz-epb", on: state) == [.holder])
        #expect(Disclosure.roles(of: "zz-procuratorate", on: state) == [.supervisor])
    }

    @Test func fieldPointersSelectAndRemove() throws {
        let data: JSONValue = ["a": ["b": 1, "c": 2], "list": [["x": 1, "y": 2], ["x": 3]], "z": true]
        let selection = try FieldSelection(pointers: ["/a/b", "/list/*/x"])
        #expect(selection.keeping(in: data) == ["a": ["b": 1], "list": [["x": 1], ["x": 3]]])
        #expect(selection.removing(from: data) == ["a": ["c": 2], "list": [["y": 2], [:]], "z": true])
        let untouched = try FieldSelection(pointers: ["/z"]).removing(from: ["a": 1])
        #expect(untouched == nil, "\(String(describing: untouched))")
        #expect(try FieldSelection(pointers: ["/a", "/a/b"]).keeping(in: data) == ["a": ["b": 1, "c": 2]])
        #expect(FieldSelection.empty.keeping(in: data) == [:])
        for bad in ["a", "/", "/*", "//x", "/a//b"] {
            #expect(throws: FieldSelection.PointerError.self) { try FieldSelection(pointers: [bad]) }
        }
    }
}
