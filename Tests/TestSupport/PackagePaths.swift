public import Foundation

/// Where the package and its built `casehub` executable are, for tests that
/// read `Schemas/`, run `Deploy/local/` scripts or start `casehub` processes.
public enum PackagePaths {
    public static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// `casehub` in the build folder that holds the running test bundle.
    public static var casehubExecutable: URL {
        var folder = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: folder.appendingPathComponent("casehub").path), folder.path != "/" {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("casehub")
    }
}
