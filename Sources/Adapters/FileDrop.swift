public import CaseModel
public import Foundation
import HTTPCommon
public import HubStore
public import Logging
public import ServiceLifecycle

/// The file transport, for agency systems that can only exchange files.
/// Under `<root>/<agency>/`:
/// - `outgoing/`: the agency drops files here — `.xml` (a native record),
///   `.json` (a native record, or canonical events when it holds a CloudEvent
///   or an array of them). Each is submitted like an HTTP request and moved
///   to `done/` (beside `<name>.receipt.json`) or to `failed/` (beside
///   `<name>.problem.json` saying why: the problem document the HTTP API
///   would answer; the refusal is also reported to `refusals`, for
///   administrators). When the hub is unreachable (a retriable
///   ``SubmissionError``, or any failure of the database or the broker) the
///   file stays and is tried again. Write files under a name starting with `.`
///   and rename them when complete: hidden files are never picked up.
/// - `incoming/`: every delivery, one file each (`<cursor>-<type>-<id>.json`),
///   written atomically (temporary name, then rename) in cursor order;
///   `incoming/.cursor` records how far it got, so a restart neither skips
///   nor duplicates. Deliveries stay in the inbox for the HTTP API as well.
public final class FileDrop: Service, Sendable {
    private let agencies: [AgencyID]
    private let root: URL
    private let submitter: AgencySubmitter
    private let deliveries: DeliveryStore
    private let delivered: Wakeup
    private let refusals: any AdapterRefusalRecording
    private let poll: Duration
    private let logger: Logger
    private let maxFileBytes = 4 << 20

    public init(agencies: [AgencyID], root: URL, submitter: AgencySubmitter, deliveries: DeliveryStore, delivered: Wakeup,
                refusals: any AdapterRefusalRecording, poll: Duration = .seconds(1), logger: Logger) {
        self.agencies = agencies
        self.root = root
        self.submitter = submitter
        self.deliveries = deliveries
        self.delivered = delivered
        self.refusals = refusals
        self.poll = poll
        self.logger = logger
    }

    public func folder(_ agency: AgencyID, _ name: String) -> URL {
        root.appendingPathComponent(agency.rawValue).appendingPathComponent(name)
    }

    public func run() async throws {
        for agency in agencies {
            for name in ["outgoing", "done", "failed", "incoming"] {
                try FileManager.default.createDirectory(at: folder(agency, name), withIntermediateDirectories: true)
            }
        }
        logger.info("file drop watching", metadata: ["file_drop.root": "\(root.path)", "agencies": "\(agencies.count)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                for agency in self.agencies {
                    do {
                        try await self.submitOutgoing(agency)
                        try await self.writeIncoming(agency)
                    } catch {
                        // At shutdown the round is cancelled: nothing to report.
                        if !Task.isCancelled {
                            self.logger.error("file drop round failed; retrying", metadata: ["casehub.agency": "\(agency)", "error": "\(error)"])
                        }
                    }
                }
                await self.delivered.wait(timeout: self.poll)
            }
        }
    }

    // MARK: outgoing

    /// Submits the complete files waiting in `outgoing/`, oldest name first.
    public func submitOutgoing(_ agency: AgencyID) async throws {
        let outgoing = folder(agency, "outgoing")
        let names = try FileManager.default.contentsOfDirectory(atPath: outgoing.path).filter { !$0.hasPrefix(".") }.sorted()
        for name in names {
            let file = outgoing.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            var bytes: [UInt8]?
            do {
                let read = try self.read(file, name: name)
                bytes = read
                let receipt = try await submit(read, name: name, from: agency)
                try settle(file, name: name, into: folder(agency, "done"), note: receipt, suffix: "receipt")
                logger.info("file submitted", metadata: ["casehub.agency": "\(agency)", "file": "\(name)"])
            } catch let error as SubmissionError where !error.isRetriable {
                let body = bytes.map(RefusedBody.init(read:)) ?? RefusedBody(unreadDeclaring: Self.size(of: file))
                try settle(file, name: name, into: folder(agency, "failed"), note: ProblemDetails(error).json, suffix: "problem")
                logger.warning("file refused", metadata: ["casehub.agency": "\(agency)", "file": "\(name)", "problem": "\(error)"])
                if let rejection = AdapterRejection(error, by: agency, request: "file drop \(agency)/outgoing/\(name)", tokenHash: nil, body: body) {
                    refusals.record(rejection)
                }
            }
            // Anything else (hub or database unreachable): the file stays for the next round.
        }
    }

    /// The file's bytes, unless it is larger than the file drop reads.
    private func read(_ file: URL, name: String) throws -> [UInt8] {
        let size = Self.size(of: file) ?? 0
        guard size <= maxFileBytes else { throw SubmissionError.fileTooLarge(name: name, size: size, limit: maxFileBytes) }
        return Array(try Data(contentsOf: file))
    }

    private static func size(of file: URL) -> Int? {
        (try? FileManager.default.attributesOfItem(atPath: file.path)[.size]) as? Int
    }

    private func submit(_ bytes: [UInt8], name: String, from agency: AgencyID) async throws -> JSONValue {
        let lowered = name.lowercased()
        if lowered.hasSuffix(".xml") {
            return try await submitter.submitRecord(bytes, isXML: true, from: agency, logger: logger).json
        }
        guard lowered.hasSuffix(".json") else { throw SubmissionError.unsupportedFile(name: name) }
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw SubmissionError.malformedJSON(reason: "\(name): \(error)")
        }
        // Canonical events say so (CloudEvents' specversion); anything else is a native record.
        let isEvents: Bool = switch json {
        case .array: true
        case .object(let members): members["specversion"] != nil
        default: false
        }
        if isEvents {
            let ids = try await submitter.submit(documents: json, from: agency, logger: logger)
            return .object(["accepted": .array(ids.map { .string($0.description) })])
        }
        return try await submitter.submitRecord(bytes, isXML: false, from: agency, logger: logger).json
    }

    /// Moves the file into `folder` and writes the note beside it.
    private func settle(_ file: URL, name: String, into folder: URL, note: JSONValue, suffix: String) throws {
        var target = folder.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: target.path) {
            // A name used before: keep both.
            target = folder.appendingPathComponent("\(Int(Date().timeIntervalSince1970 * 1000))-\(name)")
        }
        try AtomicFile.write(Data(note.canonicalBytes), to: URL(fileURLWithPath: target.path + ".\(suffix).json"))
        try FileManager.default.moveItem(at: file, to: target)
    }

    // MARK: incoming

    /// Text from a delivery made safe as part of a file name: what is not a
    /// letter, digit, `.` or `-` becomes `_`, so a type such as
    /// `../../x` (a record on the agency's topic that did not come from the
    /// hub) cannot name a path outside `incoming/`; at most 100 characters.
    static func fileNamePart(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(100).map { scalar in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "." || scalar == "-") ? scalar : "_"
        }))
    }

    /// Writes deliveries after `incoming/.cursor` as files, then moves the cursor.
    public func writeIncoming(_ agency: AgencyID) async throws {
        let incoming = folder(agency, "incoming")
        let cursorFile = incoming.appendingPathComponent(".cursor")
        var cursor = (try? String(contentsOf: cursorFile, encoding: .utf8)).flatMap { Int64($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
        while true {
            let page = try await deliveries.inbox(agency: agency, after: cursor, limit: 200)
            guard let last = page.last else { return }
            for delivery in page {
                let name = String(format: "%012lld", delivery.cursor) + "-\(Self.fileNamePart(delivery.event.type.rawValue))-\(delivery.event.id).json"
                try AtomicFile.write(Data(delivery.event.structured.canonicalBytes), to: incoming.appendingPathComponent(name))
            }
            cursor = last.cursor
            try AtomicFile.write(Data("\(cursor)\n".utf8), to: cursorFile)
        }
    }
}
