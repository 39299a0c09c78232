public import Foundation

/// A length of time the law gives for an act.
public struct StatutoryPeriod: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Unit: String, Sendable, Hashable, Codable {
        /// Exact hours from the trigger instant (24 hours to transfer a case to police).
        case hours
        /// Calendar days from the day after the trigger; a last day that is not a
        /// working day moves to the next working day.
        case days
        /// Working days (weekends and holidays skipped, adjusted working days counted).
        case workingDays = "working-days"
        /// The same day of the month, clamped to the month's end; extended like days.
        case months
        /// Exact seconds from the trigger: only for compressed demonstration
        /// rules (``DeadlineRules/compressed(secondsPerDay:)``), never the law's.
        case seconds
    }

    public var amount: Int
    public var unit: Unit

    public init(_ amount: Int, _ unit: Unit) {
        self.amount = amount
        self.unit = unit
    }

    public static func hours(_ n: Int) -> Self { .init(n, .hours) }
    public static func days(_ n: Int) -> Self { .init(n, .days) }
    public static func workingDays(_ n: Int) -> Self { .init(n, .workingDays) }
    public static func months(_ n: Int) -> Self { .init(n, .months) }
    public static func seconds(_ n: Int) -> Self { .init(n, .seconds) }

    public var description: String { "\(amount) \(unit.rawValue)" }
}

/// Computes due instants under the rules on periods of the procedure laws
/// (a period starts the day after its trigger; one ending on a holiday ends on
/// the first working day after it), with China's holiday calendar.
public struct DeadlineCalculator: Sendable {
    public let calendar: HolidayCalendar

    public init(calendar: HolidayCalendar) {
        self.calendar = calendar
    }

    /// The instant by which an act must be done: the end of the last day, or
    /// for hour periods the exact instant.
    public func due(after trigger: Date, period: StatutoryPeriod) -> Date {
        switch period.unit {
        case .seconds:
            return trigger.addingTimeInterval(TimeInterval(period.amount))
        case .hours:
            return trigger.addingTimeInterval(TimeInterval(period.amount) * 3600)
        case .days:
            let last = LocalDate(trigger).adding(days: period.amount)
            return calendar.workingDay(onOrAfter: last).endInstant
        case .workingDays:
            var day = LocalDate(trigger)
            var counted = 0
            while counted < period.amount {
                day = day.adding(days: 1)
                if calendar.isWorkingDay(day) { counted += 1 }
            }
            return day.endInstant
        case .months:
            let last = LocalDate(trigger).adding(months: period.amount)
            return calendar.workingDay(onOrAfter: last).endInstant
        }
    }

    /// When to warn: `lead` before the due instant (never before the trigger).
    public func warning(before due: Date, lead: StatutoryPeriod, trigger: Date) -> Date {
        let warnAt: Date
        switch lead.unit {
        case .seconds: warnAt = due.addingTimeInterval(-TimeInterval(lead.amount))
        case .hours: warnAt = due.addingTimeInterval(-TimeInterval(lead.amount) * 3600)
        case .days, .workingDays: warnAt = due.addingTimeInterval(-TimeInterval(lead.amount) * 86_400)
        case .months: warnAt = LocalDate(due).adding(months: -lead.amount).startInstant
        }
        return max(warnAt, trigger)
    }
}
