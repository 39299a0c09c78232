import Adapters
import CaseModel
import Foundation
import HTTPCommon
import Hummingbird
import HummingbirdTesting
import Testing

/// `POST …/events` and `POST …/records` in-process: what reaches the
/// submitter, what the limits and the parser refuse first, and how the
/// submitter's refusals are answered.
struct SubmissionRoutesTests {
    static let eventID = "0b6f2d9e-3c1a-4f7e-9a51-2d8c4e6f7a10"

    @Test func eventsAreHandedOverAndAcceptedWithTheirIDs() async throws {
        let submitter = RecordingSubmitter()
        try await withAgencyRoutes(submitter: submitter) { client in
            let one = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: #"{"id": "\#(Self.eventID)"}"#)
            #expect(one.status == .accepted)
            #expect(one.headers[.contentType] == "application/json")
            #expect(one.text == #"{"accepted":["\#(Self.eventID)"]}"#)
            let batch = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: #"[{"id": "\#(Self.eventID)"}]"#)
            #expect(batch.status == .accepted)
        }
        #expect(submitter.calls == [
            .init(agency: "zz-epb", json: .object(["id": .string(Self.eventID)])),
            .init(agency: "zz-epb", json: .array([.object(["id": .string(Self.eventID)])])),
        ])
    }

    @Test func recordsAreReadAsXMLOnlyWhenSaidSo() async throws {
        let submitter = RecordingSubmitter()
        try await withAgencyRoutes(submitter: submitter) { client in
            for contentType in ["application/xml", "text/xml; charset=utf-8", "application/json", ""] {
                let response = try await client.call(.post, "/v1/agencies/zz-court/records", token: "token-court", body: "<record/>",
                                                     headers: contentType.isEmpty ? [:] : [.contentType: contentType])
                // A record with no canonical event: 200 with the note, no events.
                #expect(response.status == .ok)
                #expect(response.json?["events"] == .array([]))
                #expect(response.json?["record"]?["note"] == "no canonical event")
            }
        }
        #expect(submitter.calls.map(\.isXML) == [true, true, false, false])
        #expect(submitter.calls.allSatisfy { $0.agency == "zz-court" && $0.bytes == Array("<record/>".utf8) })
    }

    @Test func aRecordThatBecameAnEventIs202() async throws {
        let event = CloudEvent(source: "zz-court", type: EventType(rawValue: "casehub.test.v1"), time: Date(timeIntervalSince1970: 0),
                               subject: "case-1", data: .object([:]))
        let submitter = RecordingSubmitter(recordOutcome: .init(recordType: "KT", label: "hearing", event: event, note: nil))
        try await withAgencyRoutes(submitter: submitter) { client in
            let response = try await client.call(.post, "/v1/agencies/zz-court/records", token: "token-court", body: "{}")
            #expect(response.status == .accepted)
            #expect(response.json?["events"]?[0]?["id"] == .string(event.id.description))
            #expect(response.json?["events"]?[0]?["subject"] == "case-1")
        }
    }

    @Test func aBodyOverTheLimitIs413BeforeAnythingIsRead() async throws {
        var limits = AdapterLimits()
        limits.maxBodyBytes = 100
        let submitter = RecordingSubmitter()
        try await withAgencyRoutes(submitter: submitter, limits: limits) { client in
            for path in ["events", "records"] {
                let response = try await client.call(.post, "/v1/agencies/zz-epb/\(path)", token: "token-epb",
                                                     body: String(repeating: " ", count: 101))
                #expect(response.status == .contentTooLarge)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.text == #"{"detail":"the body exceeds 100 bytes","status":413,"title":"Body too large","type":"about:blank"}"#)
            }
            // At the limit: read.
            let fits = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb",
                                             body: "{}" + String(repeating: " ", count: 98))
            #expect(fits.status == .accepted)
        }
        #expect(submitter.calls.count == 1)
    }

    @Test func malformedJSONIs400AndReachesNoSubmitter() async throws {
        let submitter = RecordingSubmitter()
        try await withAgencyRoutes(submitter: submitter) { client in
            for body in ["{not json", "", "[1, 2", #"{"a": 1} trailing"#, String(repeating: "[", count: 300) + String(repeating: "]", count: 300)] {
                let response = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: body)
                #expect(response.status == .badRequest, "\(body.prefix(20))")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.json?["title"] == "Malformed JSON")
                #expect(response.json?["detail"]?.stringValue?.hasPrefix("malformed JSON") == true)
            }
        }
        #expect(submitter.calls.isEmpty)
    }

    @Test(arguments: SubmissionErrorExpectation.all)
    func aRefusalIsAnsweredWithItsProblemDocument(_ expected: SubmissionErrorExpectation) async throws {
        try await withAgencyRoutes(submitter: RecordingSubmitter(.refuse(expected.error))) { client in
            for path in ["events", "records"] {
                let response = try await client.call(.post, "/v1/agencies/zz-epb/\(path)", token: "token-epb", body: "{}")
                #expect(response.status.code == expected.status)
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.body.readableBytesView.elementsEqual(ProblemDetails(expected.error).json.canonicalBytes))
                #expect(response.json?["title"] == .string(expected.title))
                #expect(response.json?["detail"] == .string(expected.detail))
                #expect(response.json?["violations"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? [] == expected.paths)
            }
        }
    }

    @Test func anyOtherFailureIsA500ThatRevealsNothing() async throws {
        try await withAgencyRoutes(submitter: RecordingSubmitter(.fail(SomeInternalFailure()))) { client in
            let response = try await client.call(.post, "/v1/agencies/zz-epb/events", token: "token-epb", body: "{}")
            #expect(response.status == .internalServerError)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.text == #"{"detail":"the request could not be completed","status":500,"title":"Internal Server Error","type":"about:blank"}"#)
        }
    }
}
