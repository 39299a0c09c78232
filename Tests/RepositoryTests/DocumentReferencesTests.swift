import Foundation
import Testing
import TestSupport

/// The repository's documents stand on their own: every file they name is
/// in the repository. A newcomer has only the clone; a document that points
/// at a file from elsewhere is a dead end.
struct DocumentReferencesTests {
    /// Tracked files, relative to the package root.
    static func trackedFiles() throws -> [String] {
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", PackagePaths.root.path, "ls-files"]
        let pipe = Pipe()
        git.standardOutput = pipe
        try git.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        git.waitUntilExit()
        try #require(git.terminationStatus == 0, "git ls-files failed")
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// What one file names: `*.md` files anywhere in its text; in Markdown
    /// also relative link targets and code spans that start with a top-level
    /// folder (`Sources/…`, `docs/…`), unless they hold a placeholder.
    static func references(in text: String, markdown: Bool) throws -> Set<String> {
        var found = Set<String>()
        for match in text.matches(of: try Regex(#"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b"#)) {
            let name = text[match.range]
            if !name.hasPrefix("/") { found.insert(String(name)) }  // not URLs' paths or absolute paths
        }
        guard markdown else { return found }
        for match in text.matches(of: try Regex(#"\]\(([^)\s]+)\)"#)) {
            let target = String(text[match.range].dropFirst(2).dropLast())
            if target.hasPrefix("#") || target.contains(":") { continue }  // anchors, URLs
            found.insert(String(target.prefix { $0 != "#" }))
        }
        let topLevel = ["Sources/", "Tests/", "Schemas/", "Deploy/", "docs/"]
        for match in text.matches(of: try Regex(#"`([^`\s]+)`"#)) {
            let span = text[match.range].dropFirst().dropLast()
            guard topLevel.contains(where: { span.hasPrefix($0) }), !span.contains(where: { "<*{…$".contains($0) }) else { continue }
            // `Sources/Hub/Hub.swift:12` and a trailing full stop name the file.
            var path = String(span.prefix { $0 != ":" })
            while let last = path.last, ".,;".contains(last) { path.removeLast() }
            found.insert(path)
        }
        return found
    }

    @Test func everyFileADocumentNamesIsInTheRepository() throws {
        let root = PackagePaths.root
        let scanned = try Self.trackedFiles().filter { path in
            // This folder's tests hold missing names on purpose, as samples.
            !path.hasPrefix("Tests/RepositoryTests/")
                && ([".md", ".swift", ".sh", ".yaml", ".py"].contains { path.hasSuffix($0) } || path == "Makefile" || path.hasPrefix(".ci/"))
        }
        #expect(scanned.count > 50, "too few files found: is this a git checkout?")
        var missing: [String] = []
        for file in scanned {
            let text = try String(contentsOf: root.appendingPathComponent(file), encoding: .utf8)
            let folder = root.appendingPathComponent(file).deletingLastPathComponent()
            for reference in try Self.references(in: text, markdown: file.hasSuffix(".md")) where !reference.isEmpty {
                let candidates = [folder.appendingPathComponent(reference), root.appendingPathComponent(reference)]
                if !candidates.contains(where: { FileManager.default.fileExists(atPath: $0.path) }) {
                    missing.append("\(file) names \(reference)")
                }
            }
        }
        #expect(missing.isEmpty, "documents name files that are not in the repository:\n\(missing.sorted().joined(separator: "\n"))")
    }

    /// The check itself: it sees a missing document in each form it looks for.
    @Test func theCheckFindsEachFormOfReference() throws {
        let text = "See DOMAIN.md, [the guide](docs/nowhere.md#top), `Sources/Nowhere/File.swift:3`, [web](https://example.org/a.md), `Schemas/events/<type>.schema.json`."
        let references = try Self.references(in: text, markdown: true)
        #expect(references.isSuperset(of: ["DOMAIN.md", "docs/nowhere.md", "Sources/Nowhere/File.swift"]))
        #expect(!references.contains { $0.contains("<type>") || $0.contains("example.org") })
    }
}
