/// Why an event was refused, as a stable code for agency systems to branch
/// on (`sender.not-allowed`, `pil.reply-period-running`…). The codes are
/// generated from the catalogue with what each means in Chinese and English
/// (`RefusalCode+Generated.swift`).
public struct RefusalCode: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static func < (lhs: RefusalCode, rhs: RefusalCode) -> Bool { lhs.rawValue < rhs.rawValue }
}
