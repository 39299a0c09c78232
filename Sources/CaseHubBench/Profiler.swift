import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `perf record -g` while a process runs, then its hottest symbols
/// (self time, demangled with `swift demangle` when the toolchain has it).
final class Profiler: @unchecked Sendable {
    private let recorder: SpawnedProcess
    private let dataFile: URL
    private let logFile: URL
    private let pid: Int32

    static let perf = URL(fileURLWithPath: "/usr/bin/perf")

    init(pid: Int32) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.perf.path) else { throw BenchError("no perf at \(Self.perf.path)") }
        dataFile = FileManager.default.temporaryDirectory.appendingPathComponent("casehub-bench-\(pid).perf.data")
        logFile = dataFile.appendingPathExtension("log")
        self.pid = pid
        // The whole machine, kept to this process in the report: attached with
        // -p right after its start, perf missed the threads the process made
        // later. 499 Hz: enough samples for a drain of seconds, little
        // disturbance on two cores.
        recorder = try SpawnedProcess(Self.perf.path, ["record", "-a", "-g", "-F", "499", "-o", dataFile.path],
                                      output: logFile.path)
    }

    /// Stops recording; returns the top `count` symbols by self time, one line each.
    func stop(top count: Int) throws -> [String] {
        defer {
            try? FileManager.default.removeItem(at: dataFile)
            try? FileManager.default.removeItem(at: logFile)
        }
        recorder.stop(with: SIGINT, grace: 60)  // perf writes its file on SIGINT
        let recordErrors = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
        guard FileManager.default.fileExists(atPath: dataFile.path) else {
            throw BenchError("perf record wrote nothing (paranoid level \(Self.paranoidLevel)): \(recordErrors.suffix(400))")
        }
        print("  perf report (first hub)…")
        let report = try Self.output(of: Self.perf, ["report", "-i", dataFile.path, "--stdio", "--no-children", "--pid", "\(pid)", "--percentage", "relative", "--sort", "dso,symbol",
                                                     "-g", "none", "--percent-limit", "0.3"])
        let rows = report.split(separator: "\n").filter { line in
            line.trimmingCharacters(in: .whitespaces).first.map { $0.isNumber } ?? false
        }.prefix(count).map { line in
            // perf pads every column to its widest entry and adds empty IPC columns.
            line.split(separator: " ", omittingEmptySubsequences: true).filter { $0 != "-" }.joined(separator: " ")
        }
        guard !rows.isEmpty else {
            throw BenchError("perf report found no samples; perf record said: \(recordErrors.suffix(400)); report: \(report.suffix(400))")
        }
        let demangled = (try? Self.demangle(rows.joined(separator: "\n")))?.split(separator: "\n").map(String.init)
        return (demangled?.count == rows.count ? demangled! : rows).map { $0.count > 150 ? String($0.prefix(149)) + "…" : $0 }
    }

    static var paranoidLevel: String {
        (try? String(contentsOfFile: "/proc/sys/kernel/perf_event_paranoid", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
    }

    private static func demangle(_ text: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "demangle", "--simplified"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw BenchError("swift demangle failed") }
        return String(decoding: data, as: UTF8.self)
    }

    private static func output(of executable: URL, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
