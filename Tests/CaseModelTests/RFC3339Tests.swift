import CaseModel
import Foundation
import Testing

struct RFC3339Tests {
    @Test func parsesOffsetsFractionsAndBothCases() throws {
        let utc = try #require(RFC3339.parse("2025-03-12T02:00:00Z"))
        #expect(RFC3339.parse("2025-03-12T10:00:00+08:00") == utc)
        #expect(RFC3339.parse("2025-03-11t21:30:00-04:30") == utc)
        #expect(RFC3339.parse("2025-03-12t02:00:00z") == utc)
        #expect(RFC3339.format(try #require(RFC3339.parse("2025-03-12T02:00:00.123456+00:00"))) == "2025-03-12T02:00:00.123Z")
        #expect(RFC3339.format(try #require(RFC3339.parse("2024-02-29T23:59:59.9995Z"))) == "2024-03-01T00:00:00.000Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -0.001)) == "1969-12-31T23:59:59.999Z")
    }

    @Test(arguments: [
        "", "2025-03-12", "2025-03-12T10:00:00", "2025-02-30T10:00:00Z", "2025-03-12T24:00:00Z", "2025-03-12T10:60:00Z",
        "2025-03-12T10:00:00.Z", "2025-03-12T10:00:00+0800", "2025-03-12T10:00:00+08:00 ", "2025-03-12 10:00:00Z", "２０２５-03-12T10:00:00Z",
    ])
    func refusesWhatIsNotRFC3339(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    /// Agrees with Foundation's formatter, which it replaces, on random instants.
    @Test func agreesWithFoundationOnRandomInstants() throws {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let millis = Int64.random(in: 0...4_102_444_800_000, using: &generator)
            let date = Date(timeIntervalSince1970: Double(millis) / 1000)
            let text = RFC3339.format(date)
            #expect(text == formatter.string(from: date))
            let parsed = try #require(RFC3339.parse(text))
            #expect(Int64((parsed.timeIntervalSince1970 * 1000).rounded()) == millis)
            #expect(formatter.date(from: text) == parsed)
        }
    }
}
