import CaseHubServer
import CaseModel
import Foundation
import HubStore
import Logging
import Postgres
import Synchronization
import TestSupport
import Testing
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Who may call what: every agency × every adapter route × a case it is or
/// is not party to, administrators' and agencies' tokens kept apart, and no
/// token or key ever in an answer or a log line.
@Suite(.serialized)
struct AccessControlTests {
    /// Keeps every log line (message and metadata) of the stack, at trace level.
    final class CapturedLogs: Sendable {
        let lines = Mutex<[String]>([])

        struct Handler: LogHandler {
            let sink: CapturedLogs
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
                     file: String, function: String, line: UInt) {
                let all = self.metadata.merging(metadata ?? [:]) { $1 }
                let text = "\(level) \(source) \(message) \(all.map { "\($0.key)=\($0.value)" }.joined(separator: " "))"
                sink.lines.withLock { $0.append(text) }
            }
        }

        var logger: Logger { Logger(label: "test.access") { _ in Handler(sink: self) } }
        var all: [String] { lines.withLock { $0 } }
    }

    struct Answer {
        let status: Int
        let body: String
    }

    static func call(_ port: Int, _ method: String, _ path: String, body: String? = nil, token: String?) async throws -> Answer {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        return Answer(status: (response as? HTTPURLResponse)?.statusCode ?? 0, body: String(decoding: data, as: UTF8.self))
    }

    @Test func everyAgencyEveryRouteEveryCase() async throws {
        let logs = CapturedLogs()
        let served: [AgencyID] = ["zz-epb", "zz-procuratorate", "zz-court"]
        try await withRunningStack(agencies: served, logger: logs.logger) { stack, http, database in
            // A case zz-epb and zz-procuratorate are party to, zz-court is not.
            #expect(try await http.send("POST", "/v1/agencies/zz-epb/events", AdapterAccessTests.referral(caseID: "zz-epb:acl-case")).0 == 202)
            _ = try await http.waitForInbox("zz-procuratorate", count: 1)
            let admin = try await AgencyTokenStore(client: database).issue(agency: AgencyTokenStore.administrators, label: "acl", by: .administrator("test"))
            let bogus = "chub_" + String(repeating: "A", count: 43)
            var tokens: [(name: String, token: String?)] = served.map { ($0.rawValue, http.tokens[$0.rawValue]!) }
            tokens += [("administrator", admin), ("bogus", bogus), ("none", nil)]
            let parties: Set<String> = ["zz-epb", "zz-procuratorate"]

            // What the agency's own token gets on its own path.
            let routes: [(method: String, path: String, body: String?, own: (String) -> Int)] = [
                ("GET", "inbox", nil, { _ in 200 }),
                ("POST", "inbox/ack", #"{"cursor": 0}"#, { _ in 200 }),
                ("GET", "cases/zz-epb:acl-case", nil, { parties.contains($0) ? 200 : 404 }),
                ("GET", "cases/no-such-case", nil, { _ in 404 }),
                ("GET", "webhook", nil, { _ in 404 }),
                ("PUT", "webhook", #"{"url": "ftp://nowhere"}"#, { _ in 422 }),
                ("DELETE", "webhook", nil, { _ in 404 }),
                ("POST", "events", "{}", { _ in 422 }),
                ("POST", "records", "[]", { _ in 400 }),
            ]
            var answers: [Answer] = []
            var wrong: [String] = []
            for pathAgency in served.map(\.rawValue) + ["zz-psb", "zz-nowhere"] {
                for (name, token) in tokens {
                    for route in routes {
                        let expected: Int
                        if !served.map(\.rawValue).contains(pathAgency) { expected = 404 }        // no adapter for it here
                        else if token == nil || name == "bogus" { expected = 401 }
                        else if name != pathAgency { expected = 403 }                            // another agency's or an administrator's
                        else { expected = route.own(pathAgency) }
                        let answer = try await Self.call(http.port, route.method, "/v1/agencies/\(pathAgency)/\(route.path)", body: route.body, token: token)
                        answers.append(answer)
                        if answer.status != expected { wrong.append("\(route.method) \(pathAgency)/\(route.path) with \(name): \(answer.status), expected \(expected)") }
                    }
                }
            }

            // The administrators' API and metrics: administrators only.
            let adminRoutes: [(String, String, String?, Int)] = [
                ("GET", "/v1/cases", nil, 200), ("GET", "/v1/cases/zz-epb:acl-case", nil, 200), ("GET", "/v1/cases/zz-epb:acl-case/events", nil, 200),
                ("GET", "/v1/deadlines", nil, 200), ("GET", "/v1/rejections", nil, 200), ("GET", "/v1/flows", nil, 200),
                ("GET", "/v1/lag", nil, 200), ("GET", "/v1/agencies", nil, 200), ("GET", "/v1/overview", nil, 200),
                ("GET", "/metrics", nil, 200), ("POST", "/v1/rejections/999999/replay", #"{"reason": "acl"}"#, 404),
            ]
            for (method, path, body, forAdministrators) in adminRoutes {
                for (name, token) in tokens {
                    let expected = token == nil || name == "bogus" ? 401 : name == "administrator" ? forAdministrators : 403
                    let answer = try await Self.call(http.port, method, path, body: body, token: token)
                    answers.append(answer)
                    if answer.status != expected { wrong.append("\(method) \(path) with \(name): \(answer.status), expected \(expected)") }
                }
            }
            // Without a token: only the probes and the dashboard's static files (which hold no data).
            for path in ["/healthz", "/readyz", "/", "/dashboard/dashboard.js"] {
                let answer = try await Self.call(http.port, "GET", path, token: nil)
                if answer.status != 200 { wrong.append("GET \(path) without a token: \(answer.status)") }
            }
            #expect(wrong.isEmpty, "\(wrong.count) wrong: \(wrong.prefix(10))")
            let expectedCount = 5 * 6 * 9 + 11 * 6
            #expect(answers.count == expectedCount)

            // No secret in any answer or log line: tokens, and the agencies' private keys.
            var secrets = tokens.compactMap(\.token)
            let keyDirectory = URL(fileURLWithPath: stack.configuration.keyDirectory!)
            for file in try FileManager.default.contentsOfDirectory(atPath: keyDirectory.path) {
                let text = try String(contentsOf: keyDirectory.appendingPathComponent(file), encoding: .utf8)
                secrets += text.split(whereSeparator: \.isWhitespace).map(String.init).filter { $0.count >= 32 }
            }
            #expect(secrets.count > tokens.count, "no key material found to look for")
            let lines = logs.all
            #expect(lines.contains { $0.contains("Server started") }, "the stack's logs were not captured")
            for secret in secrets {
                #expect(!answers.contains { $0.body.contains(secret) }, "a secret appeared in an answer")
                #expect(!lines.contains { $0.contains(secret) }, "a secret appeared in the log")
            }
        }
    }

    /// Tokens are looked up by their SHA-256 digest, never compared as text:
    /// the stored value is the digest, and a token differing in one character
    /// (first or last) is as unknown as any other.
    @Test func tokensAreStoredAndComparedAsDigests() async throws {
        let database = try await TestDatabase.create("acl")
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: database), logger: Logger(label: "test.acl"))
        _ = try await Migrator(client: client, logger: Logger(label: "test.acl")).migrate()
        let store = AgencyTokenStore(client: client)
        let token = try await store.issue(agency: "zz-epb", label: "digest", by: .administrator("test"))
        let stored = try await client.query("SELECT encode(token_hash, 'hex') AS h FROM agency_tokens")[0].decode("h", as: String.self)
        #expect(stored.count == 64 && !stored.contains(token))
        var first = Array(token), last = Array(token)
        first[5] = first[5] == "A" ? "B" : "A"
        last[last.count - 1] = last[last.count - 1] == "A" ? "B" : "A"
        #expect(try await store.agency(forToken: String(first)) == nil)
        #expect(try await store.agency(forToken: String(last)) == nil)
        #expect(try await store.agency(forToken: token) == "zz-epb")
        await client.shutdown()
    }
}
