import CaseModel
import Foundation
import Testing

struct CalendarTests {
    let calculator = DeadlineCalculator(calendar: .shipped)

    func due(_ trigger: String, _ period: StatutoryPeriod) -> String {
        lastDay(calculator.due(after: Scenario.instant(trigger), period: period))
    }

    @Test func fifteenDaysEndingInsideNationalDayMoveToTheFirstWorkingDay() {
        // 18 Sep 2024 + 15 days = 3 Oct, inside the 1–7 October holiday → 8 October.
        #expect(due("2024-09-18T10:00:00+08:00", .days(15)) == "2024-10-08")
        // 2025's holiday runs 1–8 October (National Day and Mid-Autumn together) → 9 October.
        #expect(due("2025-09-20T10:00:00+08:00", .days(15)) == "2025-10-09")
    }

    @Test func aPeriodEndingOnAWeekendMovesToMondayButNotOnAnAdjustedWorkingDay() {
        // 8 Mar 2025 + 7 = 15 March, a Saturday → Monday 17 March.
        #expect(due("2025-03-08T10:00:00+08:00", .days(7)) == "2025-03-17")
        // 22 Sep 2024 + 7 = 29 September, a Sunday that was an adjusted working day: it stays.
        #expect(due("2024-09-22T10:00:00+08:00", .days(7)) == "2024-09-29")
    }

    @Test func monthsClampToTheMonthEnd() {
        #expect(due("2025-01-31T10:00:00+08:00", .months(1)) == "2025-02-28")
        #expect(due("2024-01-31T10:00:00+08:00", .months(1)) == "2024-02-29")
        // 12 Mar + 2 months = 12 May 2025 (a Monday).
        #expect(due("2025-03-12T10:00:00+08:00", .months(2)) == "2025-05-12")
        // 31 Dec + 2 months = 28 Feb 2026, a Saturday that is an adjusted working day.
        #expect(due("2025-12-31T10:00:00+08:00", .months(2)) == "2026-02-28")
    }

    @Test func hoursAreExactAndDaysCountInChinaTime() {
        let trigger = Scenario.instant("2025-03-05T23:30:00+08:00")
        #expect(calculator.due(after: trigger, period: .hours(24)) == Scenario.instant("2025-03-06T23:30:00+08:00"))
        // 23:30 UTC on 4 March is already 5 March in China: the 3 days run from 6 March.
        #expect(due("2025-03-04T23:30:00Z", .days(3)) == "2025-03-10") // 8 March is a Saturday
    }

    @Test func theDueInstantIsTheEndOfTheLastDayInChina() {
        let due = calculator.due(after: Scenario.instant("2025-03-12T10:00:00+08:00"), period: .days(1))
        #expect(due == Scenario.instant("2025-03-14T00:00:00+08:00"))
    }

    @Test func calendarDataKnowsItsCoverage() {
        let calendar = HolidayCalendar.shipped
        #expect(calendar.coveredYears == [2024, 2025, 2026, 2027])
        #expect(calendar.coverage(of: 2026) == .official)
        #expect(calendar.coverage(of: 2027) == .provisional)
        #expect(calendar.coverage(of: 2030) == .missing)
        #expect(calendar.holiday(on: LocalDate("2026-02-17")!) == "春节")
        #expect(calendar.isWorkingDay(LocalDate("2026-02-14")!))   // Saturday, adjusted
        #expect(!calendar.isWorkingDay(LocalDate("2026-02-16")!))  // Monday, Spring Festival
    }

    @Test func anOverrideReplacesAYear() throws {
        var calendar = HolidayCalendar.shipped
        let json = Data(#"{"year": 2027, "source": "test notice", "provisional": false, "holidays": [{"date": "2027-02-09", "name": "春节"}], "adjustedWorkingDays": [{"date": "2027-02-13", "name": "春节"}]}"#.utf8)
        calendar.add(try HolidayCalendar.decodeYear(json))
        #expect(calendar.coverage(of: 2027) == .official)
        #expect(calendar.holiday(on: LocalDate("2027-02-05")!) == nil) // the provisional day is gone
        #expect(!calendar.isWorkingDay(LocalDate("2027-02-09")!))
        #expect(calendar.isWorkingDay(LocalDate("2027-02-13")!))
    }

    @Test func shippedCalendarMatchesTheDataFiles() throws {
        let folder = SchemaAgreementTests.schemas.appendingPathComponent("calendar")
        for year in HolidayCalendar.shipped.coveredYears {
            let file = try HolidayCalendar.decodeYear(try Data(contentsOf: folder.appendingPathComponent("\(year).json")))
            for day in file.holidays { #expect(HolidayCalendar.shipped.holiday(on: day.date) == day.name, "run make schemas") }
            for day in file.adjustedWorkingDays { #expect(HolidayCalendar.shipped.isWorkingDay(day.date)) }
        }
    }

    @Test func localDateArithmetic() {
        #expect(LocalDate("2024-02-29")!.adding(months: 12).description == "2025-02-28")
        #expect(LocalDate("2025-03-15")!.weekday == 6)
        #expect(LocalDate("2025-02-30") == nil)
        #expect(LocalDate(dayNumber: LocalDate("1999-12-31")!.dayNumber + 1).description == "2000-01-01")
    }
}
