import Foundation

/// Civil public-interest litigation (民事公益诉讼), criminal-incidental
/// included: clue → filed → 30-day announcement → suit, or support for a
/// qualified plaintiff who sued.
///
/// The announcement ends when its computed period has run: a suit after
/// that needs no `announcement-ended` first. A qualified plaintiff may sue
/// during the announcement; the procuratorate then supports that suit at
/// once (支持起诉) instead of waiting out the 30 days.
enum CivilPILProcedure {
    static let announcement = "civil-pil.announcement"

    /// Refused while the announcement's computed period runs at `instant`,
    /// with the day it ends.
    static func requireAnnouncementOver(_ step: Step, at instant: Date, to what: String, zh: String) throws(Refusal) {
        guard let period = step.state.deadlines[announcement], instant < period.dueAt else { return }
        throw Refusal(code: .civilPILAnnouncementRunning,
                      reason: "the 30-day announcement runs until the end of \(period.dueDate) (China time): no \(what) before",
                      reasonZH: "诉前公告期至\(period.dueDate)届满，届满前不得\(zh)")
    }

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
            // The declared day is kept; the period runs from the hub's record
            // of the publication at the earliest, so that a backdated day cannot
            // shorten it.
            let published = try step.recordedDate("publishedOn", notBefore: step.state.openedAt) ?? LocalDate(step.at)
            step.state.facts.announcementEventID = step.event.id
            step.state.facts.announcementPublishedOn = published
            step.start(announcement, obliged: holder, trigger: max(published.startInstant, step.at))
            step.move(to: "announcement")

        case .civilPILAnnouncementEnded:
            try step.require(status: ["announcement"], to: "end the announcement")
            try step.require(role: .holder, to: "end the announcement")
            if step.bool("qualifiedPlaintiffSued") == true {
                // A qualified plaintiff sued: the announcement has served its purpose, whenever that is.
                if step.state.deadlines[announcement].map({ step.at < $0.dueAt }) == true {
                    step.stopRunning()
                } else {
                    step.meet(announcement)
                }
                step.move(to: "plaintiff-sued")
            } else {
                try requireAnnouncementOver(step, at: step.at, to: "end of the announcement", zh: "宣告公告期满")
                step.meet(announcement)
                step.move(to: "ready-to-sue")
            }

        case .civilPILSupportProsecution:
            try step.require(status: ["plaintiff-sued"], to: "support the plaintiff's suit")
            try step.require(role: .holder, to: "support the suit")
            let court = try step.agency(at: "court", kinds: [.court])
            step.setRole(.court, court.id)
            step.move(to: "supporting")

        case .civilPILSuitFiled:
            if step.state.status == "announcement" {
                // The period's computed end decides; no announcement-ended is needed once it has run.
                try requireAnnouncementOver(step, at: step.at, to: "civil suit", zh: "提起民事公益诉讼")
                step.meet(announcement)
            } else {
                try step.require(status: ["ready-to-sue"], to: "file a civil PIL suit")
            }
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
