public import Foundation

/// China's statutory holidays and adjusted working days (调休), as data: one
/// document per year, because the State Council sets them anew each year.
///
/// A day is a working day when it is an adjusted working day, or a weekday
/// that is not a holiday. Years with no data fall back to weekends only, and
/// ``coverage(of:)`` says so, so that a missing year is visible, not silent.
public struct HolidayCalendar: Sendable {
    /// One year's data, as in `Schemas/calendar/<year>.json`.
    public struct Year: Sendable, Hashable, Codable {
        public var year: Int
        /// Where the dates come from (e.g. the State Council notice).
        public var source: String
        /// True when the dates are not yet officially announced.
        public var provisional: Bool
        /// Days off, with the holiday they belong to.
        public var holidays: [Day]
        /// Weekend days that are working days.
        public var adjustedWorkingDays: [Day]

        public struct Day: Sendable, Hashable, Codable {
            public var date: LocalDate
            public var name: String
        }
    }

    public enum Coverage: Sendable, Equatable {
        case official, provisional, missing
    }

    private var years: [Int: Year] = [:]
    private var holidays: [LocalDate: String] = [:]
    private var workingWeekends: Set<LocalDate> = []

    public init(_ years: [Year]) {
        for year in years { add(year) }
    }

    /// Adds or replaces a year (an override file wins over the shipped data).
    public mutating func add(_ year: Year) {
        if let old = years[year.year] {
            for day in old.holidays { holidays.removeValue(forKey: day.date) }
            for day in old.adjustedWorkingDays { workingWeekends.remove(day.date) }
        }
        years[year.year] = year
        for day in year.holidays { holidays[day.date] = day.name }
        for day in year.adjustedWorkingDays { workingWeekends.insert(day.date) }
    }

    public func coverage(of year: Int) -> Coverage {
        guard let data = years[year] else { return .missing }
        return data.provisional ? .provisional : .official
    }

    public var coveredYears: [Int] { years.keys.sorted() }

    /// The holiday's name when `date` is a statutory day off.
    public func holiday(on date: LocalDate) -> String? { holidays[date] }

    public func isWorkingDay(_ date: LocalDate) -> Bool {
        if workingWeekends.contains(date) { return true }
        if holidays[date] != nil { return false }
        return !date.isWeekend
    }

    /// The first working day on or after `date`.
    public func workingDay(onOrAfter date: LocalDate) -> LocalDate {
        var day = date
        while !isWorkingDay(day) { day = day.adding(days: 1) }
        return day
    }

    /// Decodes one year's JSON document.
    public static func decodeYear(_ json: Data) throws -> Year {
        try JSONDecoder().decode(Year.self, from: json)
    }
}

extension HolidayCalendar {
    /// The years shipped in `Schemas/calendar/` (2024–2027; 2027 provisional
    /// until the State Council's notice). Override or add years with ``add(_:)``.
    public static let shipped: HolidayCalendar = {
        do {
            return HolidayCalendar(try shippedYearsJSON.map { try decodeYear(Data($0.utf8)) })
        } catch {
            preconditionFailure("the shipped holiday calendar is invalid: \(error)")
        }
    }()
}
