import CaseHubServer
import CaseModel
import Foundation
import HubStore
import TestSupport
import Testing

/// The file transport: files dropped in `outgoing/` are submitted and moved
/// to `done/` or `failed/` with a note; deliveries appear in `incoming/`.
@Suite(.serialized)
struct FileDropTests {
    func drop(_ text: String, as name: String, into folder: URL) throws {
        // As agencies are told to: a hidden name while writing, then a rename.
        let hidden = folder.appendingPathComponent(".\(name).part")
        try Data(text.utf8).write(to: hidden)
        try FileManager.default.moveItem(at: hidden, to: folder.appendingPathComponent(name))
    }

    func files(_ folder: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { !$0.hasPrefix(".") }.sorted()
    }

    @Test func filesTravelBothWays() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("drop"))
        defer { try? FileManager.default.removeItem(at: root) }
        try await withRunningStack(agencies: ["zz-epb", "zz-cdi", "zz-court"], configure: { $0.fileDropDirectory = root.path }) { _, _, database in
            let epb = root.appendingPathComponent("zz-epb")
            let cdi = root.appendingPathComponent("zz-cdi")
            #expect(await eventually { FileManager.default.fileExists(atPath: epb.appendingPathComponent("outgoing").path) })

            let prefix = TestEnvironment.uniqueName("drop")
            let sample = try #require(try NativeMappingTests.samples(.environmentBureau).first { $0.name == "05-OFFICIAL_CLUE.json" })
            try drop(String(decoding: sample.bytes, as: UTF8.self).replacingOccurrences(of: "zz-sample", with: prefix),
                     as: "clue.json", into: epb.appendingPathComponent("outgoing"))
            try drop("{\"record_type\": \"NOPE\", \"record_no\": \"1\", \"hub_case_id\": \"x\"}", as: "broken.json", into: epb.appendingPathComponent("outgoing"))
            try drop("hello", as: "notes.txt", into: epb.appendingPathComponent("outgoing"))

            // Submitted: moved to done/ with a receipt naming the event.
            #expect(await eventually(timeout: .seconds(30)) { files(epb.appendingPathComponent("done")).count == 2 })
            #expect(files(epb.appendingPathComponent("done")) == ["clue.json", "clue.json.receipt.json"])
            let receipt = try JSONValue.parse(Array(try Data(contentsOf: epb.appendingPathComponent("done/clue.json.receipt.json"))))
            #expect(receipt["events"]?[0]?["type"] == "casehub.accountability.clue-referred.v1")
            // Refused: moved to failed/ beside the reason.
            #expect(await eventually { files(epb.appendingPathComponent("failed")).count == 4 })
            let problem = try JSONValue.parse(Array(try Data(contentsOf: epb.appendingPathComponent("failed/broken.json.problem.json"))))
            #expect(problem["violations"]?[0]?["path"] == "/record_type")
            let unsupported = try JSONValue.parse(Array(try Data(contentsOf: epb.appendingPathComponent("failed/notes.txt.problem.json"))))
            #expect(unsupported["status"] == 415)
            #expect(files(epb.appendingPathComponent("outgoing")).isEmpty)
            // Administrators see the refused files too: the folder is the credential, there is no token.
            var filter = AdminQueries.RejectionFilter()
            filter.stage = .adapter
            var refusals: [AdminQueries.Rejection] = []
            #expect(await eventually {
                refusals = (try? await AdminQueries(client: database).rejectionPage(filter)) ?? []
                return refusals.count == 2
            })
            #expect(refusals.map(\.request) == ["file drop zz-epb/outgoing/notes.txt", "file drop zz-epb/outgoing/broken.json"])
            #expect(refusals.map(\.code) == [RefusalCode.adapterUnsupportedFile.rawValue, RefusalCode.adapterRecordInvalid.rawValue])
            #expect(refusals.map(\.httpStatus) == [415, 422])
            #expect(refusals.allSatisfy { $0.source == "zz-epb" && $0.tokenID == nil && $0.bodyStored })

            // The commission receives the clue as a file; the bureau its receipt.
            let caseID = "zz-epb:\(prefix)-accountability-3"
            #expect(await eventually(timeout: .seconds(60)) {
                files(cdi.appendingPathComponent("incoming")).contains { $0.contains("casehub.accountability.clue-referred.v1") }
            })
            let delivered = try #require(files(cdi.appendingPathComponent("incoming")).first)
            let event = try CloudEvent(structured: try JSONValue.parse(Array(try Data(contentsOf: cdi.appendingPathComponent("incoming/\(delivered)")))))
            #expect(event.subject == caseID)
            #expect(await eventually(timeout: .seconds(60)) {
                files(epb.appendingPathComponent("incoming")).contains { $0.contains("casehub.hub.receipt.v1") }
            })
            // A court's XML record through the file drop: the adapter maps and submits it; the
            // hub refuses it (no such case) and the refusal comes back as a file.
            let court = root.appendingPathComponent("zz-court")
            let hearing = try #require(try NativeMappingTests.samples(.court).first { $0.name == "02-KT.xml" })
            try drop(String(decoding: hearing.bytes, as: UTF8.self).replacingOccurrences(of: "zz-sample", with: prefix),
                     as: "hearing.xml", into: court.appendingPathComponent("outgoing"))
            try drop("<record><JLLX>KT</JLLX></recrod>", as: "broken.xml", into: court.appendingPathComponent("outgoing"))
            #expect(await eventually(timeout: .seconds(30)) { files(court.appendingPathComponent("done")) == ["hearing.xml", "hearing.xml.receipt.json"] })
            #expect(await eventually { files(court.appendingPathComponent("failed")) == ["broken.xml", "broken.xml.problem.json"] })
            #expect(await eventually(timeout: .seconds(60)) {
                files(court.appendingPathComponent("incoming")).contains { name in
                    ((try? Data(contentsOf: court.appendingPathComponent("incoming/\(name)"))).flatMap { try? JSONValue.parse(Array($0)) })?["data"]?["outcome"] == "refused"
                }
            })

            let cursor = try String(contentsOf: cdi.appendingPathComponent("incoming/.cursor"), encoding: .utf8)
            #expect(Int64(cursor.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 >= 1)
        }
    }

    /// A delivery the hub did not write, with a type shaped as a path: its
    /// file stays in `incoming/`, its name made safe, and the deliveries after
    /// it still arrive. Such a record produced onto the agency's topic is now
    /// refused before it is stored, as it carries no hub signature
    /// (``ForgedDeliveryTests``); this test plants it in the inbox table
    /// directly, as if it had got past that check, to show the file drop's
    /// own defence.
    @Test func aDeliveryTypeCannotNameAPathOutsideIncoming() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent(TestEnvironment.uniqueName("drop"))
        defer { try? FileManager.default.removeItem(at: root) }
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate"], configure: { $0.fileDropDirectory = root.path }) { _, http, database in
            let incoming = root.appendingPathComponent("zz-epb/incoming")
            #expect(await eventually { FileManager.default.fileExists(atPath: incoming.path) })
            let marker = TestEnvironment.uniqueName("escaped")
            let forged = CloudEvent(source: "zz-procuratorate", type: EventType(rawValue: "../../../\(marker)"), time: Date(),
                                    subject: "zz-procuratorate:forged", data: ["note": "x"])
            #expect(try await DeliveryStore(client: database).store([(agency: "zz-epb", event: forged)]) == 1)
            let written = await eventually(timeout: .seconds(30)) { files(incoming).contains { $0.contains(marker) } }
            #expect(written, "\(files(incoming))")
            let name = try #require(files(incoming).first { $0.contains(marker) })
            #expect(name.hasSuffix("-.._.._.._\(marker)-\(forged.id).json") && !name.contains("/"), "\(name)")
            // Nothing landed beside the drop or above it.
            let escaped = try FileManager.default.subpathsOfDirectory(atPath: root.path).filter { $0.contains(marker) }
            #expect(escaped == ["zz-epb/incoming/\(name)"], "\(escaped)")
            #expect(!(try FileManager.default.contentsOfDirectory(atPath: root.deletingLastPathComponent().path)).contains { $0.contains(marker) })
            // The deliveries after it still arrive as files.
            let later = TestEnvironment.caseID("after-forged", openedBy: "zz-procuratorate")
            #expect(try await ProcedureRulesTests().step(http, "referral.submitted", by: "zz-procuratorate", case: later, at: "2026-07-01T09:00:00+08:00",
                                                          ["receiver": "zz-epb", "referralKind": "clue", "summary": "线索"]) == "accepted")
            #expect(await eventually(timeout: .seconds(30)) { files(incoming).contains { $0.contains("referral.submitted") } }, "\(files(incoming))")
        }
    }
}
