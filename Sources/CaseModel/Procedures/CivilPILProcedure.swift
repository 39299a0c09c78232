import Foundation

/// Civil public-interest litigation (民事公益诉讼), criminal-incidental
/// included: clue → filed → 30-day announcement → suit, or support for a
/// qualified plaintiff who sued.
enum CivilPILProcedure {
    static func apply(_ step: inout Step) throws(Refusal) {
        let holder = step.state.parties[.holder]!
        switch step.event.type {
        case .civilPILClueRegistered:
            try step.require(status: ["opened"], to: "register a civil PIL clue")
            try step.require(role: .holder, to: "register a civil PIL clue")
            step.move(to: "clue")

        case .civilPILFiled:
            try step.require(status: ["opened", "clue"], to: "file the civil PIL case")
            try step.require(role: .holder, to: "file the civil PIL case")
            if let incidental = step.bool("criminalIncidental") { step.state.facts.criminalIncidental = incidental }
            step.recordNumber("documentNumber")
            step.move(to: "filed")

        case .civilPILAnnouncementPublished:
            try step.require(status: ["filed"], to: "publish the announcement")
            try step.require(role: .holder, to: "publish the announcement")
            let published = step.date("publishedOn") ?? LocalDate(step.event.time)
            step.state.facts.announcementEventID = step.event.id
            step.state.facts.announcementPublishedOn = published
            step.start("civil-pil.announcement", obliged: holder, trigger: published.startInstant)
            step.move(to: "announcement")

        case .civilPILAnnouncementEnded:
            try step.require(status: ["announcement"], to: "end the announcement")
            try step.require(role: .holder, to: "end the announcement")
            if let period = step.state.deadlines["civil-pil.announcement"], step.event.time < period.dueAt {
                throw Refusal(code: .civilPILAnnouncementRunning,
                              reason: "the 30-day announcement runs until \(RFC3339.format(period.dueAt))",
                              reasonZH: "诉前公告期30日尚未届满")
            }
            step.meet("civil-pil.announcement")
            step.move(to: step.bool("qualifiedPlaintiffSued") == true ? "plaintiff-sued" : "ready-to-sue")

        case .civilPILSupportProsecution:
            try step.require(status: ["plaintiff-sued"], to: "support the plaintiff's suit")
            try step.require(role: .holder, to: "support the suit")
            let court = try step.agency(at: "court", kinds: [.court])
            step.setRole(.court, court.id)
            step.move(to: "supporting")

        case .civilPILSuitFiled:
            if step.state.status == "announcement" {
                throw Refusal(code: .civilPILAnnouncementRunning, reason: "no civil suit before the 30-day announcement ends",
                              reasonZH: "诉前公告期满前不得提起民事公益诉讼")
            }
            try step.require(status: ["ready-to-sue"], to: "file a civil PIL suit")
            try step.require(role: .holder, to: "file the suit")
            try step.requireReference("announcementEventId", equals: step.state.facts.announcementEventID, "the announcement")
            let court = try step.agency(at: "court", kinds: [.court])
            if step.state.facts.criminalIncidental != true, court.level != .city {
                throw Refusal(code: .suitWrongCourt, reason: "a civil PIL suit is filed at the intermediate court (unless criminal-incidental)",
                              reasonZH: "民事公益诉讼由中级人民法院管辖（刑事附带民事公益诉讼除外）",
                              violations: [Violation(path: "/data/court", rule: "jurisdiction", message: "must be an intermediate court")])
            }
            step.setRole(.court, court.id)
            step.recordNumber("complaintNumber")
            step.move(to: "suit-filed")

        case .civilPILTerminated:
            try step.require(status: ["clue", "filed", "announcement", "plaintiff-sued", "ready-to-sue"], to: "terminate the case")
            try step.require(role: .holder, to: "terminate the case")
            step.stopRunning()
            step.move(to: "terminated")

        default:
            throw Refusal(code: .typeUnknown, reason: "unknown civil PIL event \(step.event.type)")
        }
    }
}
