public import Foundation

/// The hub's own clock: the instant it records receipts, deliveries and
/// notices at, and so the instant the law counts from. The system clock in
/// production; a test sets its own to play events at chosen instants.
public struct HubClock: Sendable {
    private let read: @Sendable () -> Date

    public init(_ read: @escaping @Sendable () -> Date) {
        self.read = read
    }

    public var now: Date { read() }

    public static let system = HubClock { Date() }
}
