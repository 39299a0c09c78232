import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whole-file writes that readers (and a crash) never see half done.
enum AtomicFile {
    /// Writes a hidden temporary file beside `url` (created with `permissions`
    /// when given), then rename(2)s it over `url`: a reader sees the old
    /// content or the new, never a part.
    static func write(_ data: Data, to url: URL, permissions: Int? = nil) throws {
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(UUID().uuidString).tmp")
        let attributes: [FileAttributeKey: Any]? = permissions.map { [.posixPermissions: $0] }
        guard FileManager.default.createFile(atPath: temporary.path, contents: data, attributes: attributes) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary.path])
        }
        guard rename(temporary.path, url.path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(at: temporary)
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path, "errno": code])
        }
    }
}
