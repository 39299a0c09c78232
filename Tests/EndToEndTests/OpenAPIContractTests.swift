import CaseModel
import Foundation
import HubStore
import Testing
import TestSupport
import Yams
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `Schemas/openapi.yaml` read as JSON, with its component schemas loaded
/// into the project's JSON Schema validator (plus the event envelope the
/// inbox returns).
struct OpenAPIContract {
    static let base = "https://casehub.example/openapi"
    let document: JSONValue
    let validator: JSONSchemaValidator

    static func load() throws -> OpenAPIContract {
        let text = try String(contentsOf: PackagePaths.root.appendingPathComponent("Schemas/openapi.yaml"), encoding: .utf8)
        let document = try json(from: try #require(try Yams.load(yaml: text)))
        // Component schemas become one document's $defs; each also gets a document of its own to validate against.
        let schemas = try #require(document["components"]?["schemas"]?.objectValue)
        var documents: [JSONValue] = [.object(["$id": .string(base), "$defs": .object(schemas.mapValues(rewritingReferences))])]
        for name in schemas.keys {
            documents.append(.object(["$id": .string("\(base)/\(name)"), "$ref": .string("\(base)#/$defs/\(name)")]))
        }
        for file in ["envelope.schema.json", "common.schema.json"] {
            documents.append(try JSONValue.parse(Array(try Data(contentsOf: PackagePaths.root.appendingPathComponent("Schemas/\(file)")))))
        }
        return OpenAPIContract(document: document, validator: try JSONSchemaValidator(documents: documents))
    }

    /// YAML as loaded by Yams → JSONValue.
    static func json(from value: Any) throws -> JSONValue {
        switch value {
        case let text as String: return .string(text)
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .integer(Int64(number))
        case let number as Double: return .number(number)
        case let list as [Any]: return .array(try list.map(json))
        case let map as [String: Any]: return .object(try map.mapValues(json))
        case is NSNull: return .null
        default: throw ContractError("unexpected YAML value \(value)")
        }
    }

    static func rewritingReferences(_ schema: JSONValue) -> JSONValue {
        switch schema {
        case .object(let members):
            var rewritten = members.mapValues(rewritingReferences)
            if let reference = members["$ref"]?.stringValue, reference.hasPrefix("#/components/schemas/") {
                rewritten["$ref"] = .string(base + "#/$defs/" + reference.dropFirst("#/components/schemas/".count))
            }
            return .object(rewritten)
        case .array(let items): return .array(items.map(rewritingReferences))
        default: return schema
        }
    }

    /// Every documented operation as "METHOD /path/{template}".
    var operations: Set<String> {
        var all = Set<String>()
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys { all.insert("\(method.uppercased()) \(path)") }
        }
        return all
    }

    /// What is wrong with an answer, judged by the document; empty when it matches.
    func problems(method: String, template: String, status: Int, contentType: String, body: [UInt8]) -> [String] {
        guard let operation = document["paths"]?[template]?[method.lowercased()] else {
            return ["\(method) \(template) is not documented"]
        }
        guard var response = operation["responses"]?[String(status)] else {
            return ["\(method) \(template) answered \(status), which is not documented"]
        }
        if let reference = response["$ref"]?.stringValue {
            guard let resolved = document["components"]?["responses"]?[String(reference.split(separator: "/").last ?? "")] else {
                return ["unresolved \(reference)"]
            }
            response = resolved
        }
        guard let content = response["content"]?.objectValue else {
            return body.isEmpty ? [] : ["\(method) \(template) \(status) documents no body but one came"]
        }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        guard let media = content[mediaType] else {
            return ["\(method) \(template) \(status): content type '\(contentType)' not documented (\(content.keys.sorted()))"]
        }
        guard mediaType.hasSuffix("json") else { return [] }
        guard let reference = media["schema"]?["$ref"]?.stringValue, reference.hasPrefix("#/components/schemas/") else {
            return ["\(method) \(template) \(status): a JSON response must name a component schema"]
        }
        let instance: JSONValue
        do {
            instance = try JSONValue.parse(body)
        } catch {
            return ["\(method) \(template) \(status): body is not JSON: \(error)"]
        }
        let name = reference.dropFirst("#/components/schemas/".count)
        return validator.validate(instance, against: "\(Self.base)/\(name)").map { "\(method) \(template) \(status) \($0.path): \($0.message)" }
    }
}

struct ContractError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Calls every route of a running stack, checking each answer against the
/// OpenAPI document, and remembers which documented operations answered.
final class ContractClient: @unchecked Sendable {
    let contract: OpenAPIContract
    let port: Int
    private(set) var called = Set<String>()

    init(contract: OpenAPIContract, port: Int) {
        self.contract = contract
        self.port = port
    }

    /// `template` with `{name}` filled from `parameters`; `query` appended as is.
    @discardableResult
    func call(_ method: String, _ template: String, _ parameters: [String: String] = [:], query: String = "",
              json: JSONValue? = nil, raw: [UInt8]? = nil, contentType: String = "application/json",
              token: String?, expect status: Int, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        try await call(method, template, parameters, query: query, json: json, raw: raw, contentType: contentType, token: token,
                       expect: [status], sourceLocation: sourceLocation)
    }

    /// As above, for an answer that may be any of `statuses`.
    @discardableResult
    func call(_ method: String, _ template: String, _ parameters: [String: String] = [:], query: String = "",
              json: JSONValue? = nil, raw: [UInt8]? = nil, contentType: String = "application/json",
              token: String?, expect statuses: Set<Int>, sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue {
        var path = template
        for (name, value) in parameters {
            path = path.replacingOccurrences(of: "{\(name)}", with: value.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed)!)
        }
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)\(query.isEmpty ? "" : "?" + query)")!)
        request.httpMethod = method
        request.timeoutInterval = 60
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body = raw ?? json?.canonicalBytes {
            request.httpBody = Data(body)
            request.setValue(contentType, forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        let bytes = Array(data)
        #expect(statuses.contains(http.statusCode), "\(method) \(path): \(String(decoding: bytes.prefix(500), as: UTF8.self))", sourceLocation: sourceLocation)
        let problems = contract.problems(method: method, template: template, status: http.statusCode,
                                         contentType: http.value(forHTTPHeaderField: "Content-Type") ?? "", body: bytes)
        #expect(problems.isEmpty, "\(problems)", sourceLocation: sourceLocation)
        called.insert("\(method) \(template)")
        let isJSON = http.value(forHTTPHeaderField: "Content-Type")?.contains("json") == true
        return isJSON && !bytes.isEmpty ? (try? JSONValue.parse(bytes)) ?? .null : .string(String(decoding: bytes, as: UTF8.self))
    }
}

@Suite(.serialized)
struct OpenAPIContractTests {
    @Test func theDocumentLoadsAndItsSchemasAreUnderstood() throws {
        let contract = try OpenAPIContract.load()
        #expect(contract.document["openapi"] == "3.1.0")
        #expect(contract.operations.count >= 23, "\(contract.operations.sorted())")
        // The checks bite: a wrong body, an undocumented status, route or content type.
        let healthy = Array(#"{"status":"ok"}"#.utf8)
        #expect(contract.problems(method: "GET", template: "/healthz", status: 200, contentType: "application/json", body: healthy).isEmpty)
        #expect(!contract.problems(method: "GET", template: "/healthz", status: 200, contentType: "application/json",
                                   body: Array(#"{"status":"down"}"#.utf8)).isEmpty)
        #expect(!contract.problems(method: "GET", template: "/healthz", status: 418, contentType: "application/json", body: healthy).isEmpty)
        #expect(!contract.problems(method: "GET", template: "/v1/nothing", status: 200, contentType: "application/json", body: healthy).isEmpty)
        #expect(!contract.problems(method: "GET", template: "/healthz", status: 200, contentType: "text/html", body: healthy).isEmpty)
        let missingCursor = Array(#"{"events":[]}"#.utf8)
        #expect(!contract.problems(method: "GET", template: "/v1/agencies/{agency}/inbox", status: 200, contentType: "application/json",
                                   body: missingCursor).isEmpty)
    }

    /// Every documented route exists and answers as documented; every route
    /// that answered is documented.
    @Test func everyRouteAnswersAsDocumented() async throws {
        let contract = try OpenAPIContract.load()
        try await withRunningStack(agencies: ["zz-epb", "zz-procuratorate", "zz-court"]) { _, http, database in
            let api = ContractClient(contract: contract, port: http.port)
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "contract", by: .administrator("test"))
            let epb = try #require(http.tokens["zz-epb"]), procuratorate = try #require(http.tokens["zz-procuratorate"])
            let court = try #require(http.tokens["zz-court"])

            // Health, metrics, the dashboard.
            try await api.call("GET", "/healthz", token: nil, expect: 200)
            // 200, or 503 when the loaded test broker is slow to answer: both are documented, and checked.
            try await api.call("GET", "/readyz", token: nil, expect: [200, 503])
            try await api.call("GET", "/metrics", token: admin, expect: 200)
            try await api.call("GET", "/metrics", token: nil, expect: 401)
            try await api.call("GET", "/metrics", token: epb, expect: 403)
            try await api.call("GET", "/", token: nil, expect: 200)
            try await api.call("GET", "/dashboard/{file}", ["file": "dashboard.js"], token: nil, expect: 200)
            try await api.call("GET", "/dashboard/{file}", ["file": "dashboard.css"], token: nil, expect: 200)
            try await api.call("GET", "/dashboard/{file}", ["file": "secrets.txt"], token: nil, expect: 404)

            // An agency submits: events, then a native record.
            let events = "/v1/agencies/{agency}/events"
            let referral = AdapterAccessTests.referral(caseID: "zz-epb:contract-case")
            try await api.call("POST", events, ["agency": "zz-epb"], json: referral, token: epb, expect: 202)
            try await api.call("POST", events, ["agency": "zz-epb"], json: referral, token: nil, expect: 401)
            try await api.call("POST", events, ["agency": "zz-epb"], json: referral, token: procuratorate, expect: 403)
            try await api.call("POST", events, ["agency": "zz-nowhere"], json: referral, token: epb, expect: 404)
            try await api.call("POST", events, ["agency": "zz-epb"], raw: Array("{".utf8), token: epb, expect: 400)
            try await api.call("POST", events, ["agency": "zz-epb"], json: ["specversion": "1.0"], token: epb, expect: 422)
            var reused = referral
            if case .object(var members) = reused { members["data"] = ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "改过"]; reused = .object(members) }
            try await api.call("POST", events, ["agency": "zz-epb"], json: reused, token: epb, expect: 409)
            try await api.call("POST", events, ["agency": "zz-epb"], raw: [UInt8](repeating: 0x20, count: 5 << 20), token: epb, expect: 413)
            // Out of turn: the hub will refuse it, for the rejection routes below.
            try await api.call("POST", events, ["agency": "zz-court"], json: AdminAPITests.event(
                "litigation.accepted", by: "zz-court", case: "contract-nothing", at: "2026-07-01T09:00:00+08:00",
                ["caseNumber": "（2026）湘02民初5号", "acceptedOn": "2026-07-01", "causeOfAction": "x"]), token: court, expect: 202)
            let sample = try #require(try NativeMappingTests.samples(.environmentBureau).first)
            try await api.call("POST", "/v1/agencies/{agency}/records", ["agency": "zz-epb"], raw: sample.bytes, token: epb, expect: 202)
            try await api.call("POST", "/v1/agencies/{agency}/records", ["agency": "zz-epb"], raw: Array("[1]".utf8), token: epb, expect: 400)

            // The receiver reads, acknowledges, looks at the case.
            let delivered = try await http.waitForInbox("zz-procuratorate", count: 1)
            let cursor = try #require(delivered.first?["cursor"])
            let inbox = "/v1/agencies/{agency}/inbox"
            try await api.call("GET", inbox, ["agency": "zz-procuratorate"], query: "wait=1", token: procuratorate, expect: 200)
            try await api.call("GET", inbox, ["agency": "zz-procuratorate"], query: "after=-1", token: procuratorate, expect: 400)
            let ack = "/v1/agencies/{agency}/inbox/ack"
            try await api.call("POST", ack, ["agency": "zz-procuratorate"], json: ["cursor": cursor], token: procuratorate, expect: 200)
            try await api.call("POST", ack, ["agency": "zz-procuratorate"], json: [:], token: procuratorate, expect: 422)
            let view = "/v1/agencies/{agency}/cases/{caseId}"
            try await api.call("GET", view, ["agency": "zz-procuratorate", "caseId": "zz-epb:contract-case"], token: procuratorate, expect: 200)
            try await api.call("GET", view, ["agency": "zz-court", "caseId": "zz-epb:contract-case"], token: court, expect: 404)

            // Webhook: register, look, remove.
            let webhook = "/v1/agencies/{agency}/webhook"
            try await api.call("PUT", webhook, ["agency": "zz-court"], json: ["url": "http://127.0.0.1:9/hook"], token: court, expect: 200)
            try await api.call("PUT", webhook, ["agency": "zz-court"], json: ["url": "ftp://x"], token: court, expect: 422)
            try await api.call("GET", webhook, ["agency": "zz-court"], token: court, expect: 200)
            try await api.call("DELETE", webhook, ["agency": "zz-court"], token: court, expect: 204)
            try await api.call("GET", webhook, ["agency": "zz-court"], token: court, expect: 404)
            try await api.call("DELETE", webhook, ["agency": "zz-court"], token: court, expect: 404)

            // Administrators. The adapters' refusals above are recorded at once; the hub's comes off Kafka.
            let refused = await eventually(timeout: .seconds(60)) {
                let (_, page) = (try? await http.send("GET", "/v1/rejections?stage=hub", nil, bearer: .token(admin))) ?? (0, .null)
                return page["rejections"]?.arrayValue?.isEmpty == false
            }
            #expect(refused)
            try await api.call("GET", "/v1/cases", token: admin, expect: 200)
            try await api.call("GET", "/v1/cases", query: "procedure=referral&overdue=false&limit=1", token: admin, expect: 200)
            try await api.call("GET", "/v1/cases", token: nil, expect: 401)
            try await api.call("GET", "/v1/cases", token: epb, expect: 403)
            try await api.call("GET", "/v1/cases", query: "limit=0", token: admin, expect: 400)
            try await api.call("GET", "/v1/cases/{id}", ["id": "zz-epb:contract-case"], token: admin, expect: 200)
            try await api.call("GET", "/v1/cases/{id}", ["id": "no-such-case"], token: admin, expect: 404)
            try await api.call("GET", "/v1/cases/{id}/events", ["id": "zz-epb:contract-case"], token: admin, expect: 200)
            try await api.call("GET", "/v1/cases/{id}/events", ["id": "no-such-case"], token: admin, expect: 404)
            try await api.call("GET", "/v1/deadlines", token: admin, expect: 200)
            try await api.call("GET", "/v1/deadlines", query: "asOf=2027-01-01T00:00:00Z&state=overdue", token: admin, expect: 200)
            try await api.call("GET", "/v1/deadlines", query: "state=late", token: admin, expect: 400)
            let page = try await api.call("GET", "/v1/rejections", query: "agency=zz-court&stage=hub", token: admin, expect: 200)
            let rejection = try #require(page["rejections"]?[0]?["id"]?.canonicalString)
            let adapterRefusals = await eventually {
                let page = try? await api.call("GET", "/v1/rejections", query: "stage=adapter&code=adapter.impersonation", token: admin, expect: 200)
                return page?["rejections"]?.arrayValue?.isEmpty == false
            }
            #expect(adapterRefusals)
            let adapterPage = try await api.call("GET", "/v1/rejections", query: "stage=adapter", token: admin, expect: 200)
            let adapterRejection = try #require(adapterPage["rejections"]?[0]?["id"]?.canonicalString)
            try await api.call("GET", "/v1/rejections", query: "limit=9999", token: admin, expect: 400)
            try await api.call("GET", "/v1/rejections", query: "stage=kafka", token: admin, expect: 400)
            let replay = "/v1/rejections/{id}/replay"
            try await api.call("POST", replay, ["id": adapterRejection], json: ["reason": "contract test"], token: admin, expect: 409)
            try await api.call("POST", replay, ["id": rejection], json: ["reason": ""], token: admin, expect: 422)
            try await api.call("POST", replay, ["id": rejection], raw: Array("nope".utf8), token: admin, expect: 400)
            try await api.call("POST", replay, ["id": "999999"], json: ["reason": "contract test"], token: admin, expect: 404)
            try await api.call("POST", replay, ["id": rejection], json: ["reason": "contract test"], token: admin, expect: 202)
            try await api.call("POST", replay, ["id": rejection], json: ["reason": "contract test"], token: admin, expect: 200)
            // A back-fill of paper cases: checked without storing, refused as a whole, malformed.
            let paper = AdminAPITests.event("referral.submitted", by: "zz-epb", case: "zz-epb:contract-paper", at: "2025-03-01T09:00:00+08:00",
                                            ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "纸质线索"])
            try await api.call("POST", "/v1/imports", query: "dryRun=true", json: [paper], token: admin, expect: 200)
            try await api.call("POST", "/v1/imports", json: [paper, paper], token: admin, expect: 422)
            try await api.call("POST", "/v1/imports", json: [["specversion": "1.0"]], token: admin, expect: 422)
            try await api.call("POST", "/v1/imports", raw: Array("nope".utf8), token: admin, expect: 400)
            try await api.call("POST", "/v1/imports", json: [paper], token: epb, expect: 403)
            try await api.call("GET", "/v1/flows", token: admin, expect: 200)
            try await api.call("GET", "/v1/flows", query: "bucket=0", token: admin, expect: 400)
            try await api.call("GET", "/v1/lag", token: admin, expect: 200)
            try await api.call("GET", "/v1/agencies", token: admin, expect: 200)
            try await api.call("GET", "/v1/overview", token: admin, expect: 200)
            try await api.call("GET", "/v1/outbox/parked", token: admin, expect: 200)
            try await api.call("GET", "/v1/outbox/parked", token: epb, expect: 403)
            for action in ["retry", "discard"] {
                let path = "/v1/outbox/parked/{shard}/{seq}/\(action)"
                try await api.call("POST", path, ["shard": "0", "seq": "999999"], json: ["reason": "contract test"], token: admin, expect: 404)
                try await api.call("POST", path, ["shard": "0", "seq": "999999"], json: ["reason": " "], token: admin, expect: 422)
                try await api.call("POST", path, ["shard": "0", "seq": "999999"], raw: Array("nope".utf8), token: admin, expect: 400)
            }

            // Every documented operation was called and answered as documented.
            #expect(contract.operations.subtracting(api.called).isEmpty, "never called: \(contract.operations.subtracting(api.called).sorted())")

            // Every route that answered (the metrics count them by pattern) is documented.
            let metrics = try await api.call("GET", "/metrics", token: admin, expect: 200).stringValue ?? ""
            let served = Set(metrics.split(separator: "\n").filter { $0.hasPrefix("casehub_http_requests_total{") }.compactMap { line -> String? in
                guard let method = Self.label("method", in: line), let route = Self.label("route", in: line), route != "unmatched" else { return nil }
                return "\(method) \(route)"
            })
            #expect(!served.isEmpty)
            #expect(served.subtracting(contract.operations).isEmpty, "undocumented: \(served.subtracting(contract.operations).sorted())")
        }
    }

    static func label(_ name: String, in line: Substring) -> String? {
        guard let start = line.range(of: "\(name)=\"") else { return nil }
        let rest = line[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}
