import CaseModel
import Foundation

/// The mapping tables per agency kind: the built-in ones for the systems
/// Zhuzhou's agencies run (below, documented in docs/adapters/<kind>.md with
/// samples in Schemas/native/<kind>/), or a city's own from files.
public struct NativeMappings: Sendable {
    public private(set) var byKind: [AgencyKind: NativeMapping]

    public subscript(kind: AgencyKind) -> NativeMapping? { byKind[kind] }

    /// Zhuzhou's tables.
    public static let standard: NativeMappings = {
        var byKind: [AgencyKind: NativeMapping] = [:]
        for text in [court, procuratorate, disciplineCommission, environmentBureau] {
            // The built-in tables are part of the code: a broken one is a programming error.
            let mapping = try! NativeMapping(json: try! JSONValue.parse(Array(text.utf8)))
            byKind[mapping.kind] = mapping
        }
        return NativeMappings(byKind: byKind)
    }()

    /// These tables with one replaced by a file's (a second city's dialect).
    public func replacing(withFile url: URL) throws -> NativeMappings {
        let data = try Data(contentsOf: url)
        let json: JSONValue
        do {
            json = try JSONValue.parse(Array(data))
        } catch {
            throw NativeMapping.InvalidTable(description: "\(url.path): \(error)")
        }
        do {
            let mapping = try NativeMapping(json: json)
            var copy = self
            copy.byKind[mapping.kind] = mapping
            return copy
        } catch let error as NativeMapping.InvalidTable {
            throw NativeMapping.InvalidTable(description: "\(url.path)\(error.description)")
        }
    }

    // MARK: the built-in tables

    /// 审判流程管理系统 exports (XML, flat): pinyin initials as field names.
    static let court = #"""
    {
      "kind": "court", "format": "xml",
      "fields": {"recordType": "JLLX", "recordId": "JLBH", "caseId": "TYAJBS", "time": "CZSJ"},
      "records": {
        "LA": {"label": "立案 filing accepted", "event": "casehub.litigation.accepted.v1", "data": {
          "caseNumber": {"from": "AH", "check": "court-case-number"},
          "acceptedOn": {"from": "LARQ", "as": "date"},
          "causeOfAction": {"from": "AY"}}},
        "KT": {"label": "开庭 hearing scheduled", "event": "casehub.litigation.hearing-scheduled.v1", "data": {
          "hearingAt": {"from": "KTSJ", "as": "dateTime"},
          "place": {"from": "KTDD", "optional": true}}},
        "CP": {"label": "判决/裁定 宣判 judgment or ruling pronounced", "event": "casehub.litigation.judgment-issued.v1", "data": {
          "instance": {"from": "SPCX", "as": "code:instance"},
          "form": {"from": "CPXS", "as": "code:form"},
          "documentNumber": {"from": "CPWSH", "check": "court-case-number"},
          "outcome": {"from": "CPJG"},
          "servedOn": {"from": "SDRQ", "as": "date"}}},
        "SS": {"label": "上诉 appeal filed", "event": "casehub.litigation.appeal-filed.v1", "data": {
          "appellant": {"from": "SSR"},
          "appealCourt": {"from": "ESFY", "as": "agency"},
          "reasons": {"from": "SSLY", "as": "list", "optional": true}}},
        "SX": {"label": "生效 judgment effective", "event": "casehub.litigation.final.v1", "data": {
          "effectiveOn": {"from": "SXRQ", "as": "date"},
          "documentNumber": {"from": "CPWSH", "optional": true, "check": "court-case-number"}}},
        "ZX": {"label": "移送执行 enforcement", "event": "casehub.litigation.enforcement-transferred.v1", "data": {
          "enforcementNumber": {"from": "ZXAH", "check": "court-case-number"}}}
      },
      "codes": {
        "instance": {"1": "first", "2": "second", "一审": "first", "二审": "second"},
        "form": {"PJ": "judgment", "CD": "ruling", "判决": "judgment", "裁定": "ruling"}
      }
    }
    """#

    /// 检察业务应用系统 exports (JSON): pinyin initials in lower case.
    static let procuratorate = #"""
    {
      "kind": "procuratorate", "format": "json",
      "fields": {"recordType": "ywlx", "recordId": "ywbh", "caseId": "hub_ajbs", "time": "czsj"},
      "records": {
        "GYXS": {"label": "公益诉讼线索 PIL clue registered", "event": "casehub.pil.clue-registered.v1", "data": {
          "clueSource": {"from": "xsly", "as": "code:clueSource"},
          "summary": {"from": "xsnr"},
          "referralCaseId": {"from": "ysajbs", "optional": true}}},
        "LA": {"label": "立案 PIL case filed", "event": "casehub.pil.filed.v1", "data": {
          "documentNumber": {"from": "lajdsh"},
          "agency": {"from": "dxjg", "as": "agency"},
          "summary": {"from": "ajzy", "optional": true}}},
        "LATZ": {"label": "立案通知送达 filing notice served", "event": "casehub.pil.filing-notice-served.v1", "data": {
          "servedAt": {"from": "sdsj", "as": "dateTime"}}},
        "JCJY": {"label": "检察建议 pre-litigation recommendation", "event": "casehub.pil.recommendation-issued.v1", "data": {
          "documentNumber": {"from": "jcjysh"},
          "agency": {"from": "dxjg", "as": "agency"},
          "urgent": {"from": "sfjj", "as": "boolean"},
          "recommendations": {"from": "jynr", "as": "list"}}},
        "GG": {"label": "诉前公告 announcement (civil PIL)", "event": "casehub.civil-pil.announcement-published.v1", "data": {
          "documentNumber": {"from": "ggwh"},
          "publishedOn": {"from": "ggrq", "as": "date"},
          "channel": {"from": "ggmt"}}},
        "GJ": {"label": "跟进调查 follow-up", "event": "casehub.pil.follow-up-recorded.v1", "data": {
          "agencyStillFailing": {"from": "rwlz", "as": "boolean"},
          "harmContinuing": {"from": "shcx", "as": "boolean"},
          "findings": {"from": "gjqk"}}},
        "QS": {"label": "提起诉讼 administrative PIL suit", "event": "casehub.pil.suit-filed.v1", "data": {
          "court": {"from": "slfy", "as": "agency"},
          "complaintNumber": {"from": "qszh"},
          "proofs": {"as": "object", "fields": {
            "recommendationEventId": {"from": "jcjy_ywbh", "as": "eventRef"},
            "replyEventId": {"from": "hf_sjbs", "as": "eventRef", "optional": true},
            "followUpEventId": {"from": "gj_ywbh", "as": "eventRef"}}}}},
        "ZCQS": {"label": "支持起诉 support prosecution", "event": "casehub.civil-pil.support-prosecution.v1", "data": {
          "plaintiff": {"from": "yg"},
          "court": {"from": "slfy", "as": "agency"},
          "documentNumber": {"from": "zcqssh", "optional": true}}},
        "LAJD-SM": {"label": "立案监督 要求说明不立案理由 filing supervision: explanation requested", "event": "casehub.crime.explanation-requested.v1", "data": {
          "documentNumber": {"from": "wsh", "optional": true}}},
        "LAJD-TZ": {"label": "立案监督 通知立案 filing supervision: notice to file", "event": "casehub.crime.filing-notice-issued.v1", "data": {
          "documentNumber": {"from": "wsh"},
          "reasons": {"from": "ly", "as": "list", "optional": true}}}
      },
      "codes": {
        "clueSource": {"01": "referral", "02": "own-discovery", "03": "public-report", "99": "other"}
      }
    }
    """#

    /// 纪检监察业务系统 exports (JSON).
    static let disciplineCommission = #"""
    {
      "kind": "discipline-commission", "format": "json",
      "fields": {"recordType": "lx", "recordId": "bh", "caseId": "hub_ajbs", "time": "sj"},
      "records": {
        "XSSL": {"label": "线索受理 clue received", "event": null,
                 "note": "the hub opened the accountability case when the referrer sent the clue; receipt in the commission's own system changes nothing there", "data": {}},
        "CZ": {"label": "处置 disposal (one of the four)", "event": "casehub.accountability.disposal-chosen.v1", "data": {
          "disposal": {"from": "czfs", "as": "code:disposal"},
          "reasons": {"from": "yj", "as": "list", "optional": true}}},
        "HF": {"label": "函询回复 inquiry answered", "event": "casehub.accountability.inquiry-replied.v1", "data": {
          "summary": {"from": "hfnr"}}},
        "CH": {"label": "初步核实 verification concluded", "event": "casehub.accountability.verification-concluded.v1", "data": {
          "finding": {"from": "hsjl", "as": "code:finding"},
          "summary": {"from": "hsqk", "optional": true}}},
        "LASC": {"label": "立案审查调查 review filed", "event": "casehub.accountability.review-filed.v1", "data": {
          "documentNumber": {"from": "lawh"}}},
        "CF": {"label": "处分/问责 sanction decided", "event": "casehub.accountability.sanction-decided.v1", "data": {
          "measures": {"from": "cfcs", "as": "list-code:measure"},
          "documentNumber": {"from": "cfwh", "optional": true},
          "summary": {"from": "cfqk", "optional": true}}},
        "FK": {"label": "反馈 feedback to the referrer", "event": "casehub.accountability.feedback-sent.v1", "data": {
          "referrer": {"from": "ysdw", "as": "agency"},
          "summary": {"from": "fknr"}}}
      },
      "codes": {
        "disposal": {"1": "talk-or-letter-inquiry", "2": "preliminary-verification", "3": "shelved", "4": "closed",
                     "谈话函询": "talk-or-letter-inquiry", "初步核实": "preliminary-verification", "暂存待查": "shelved", "予以了结": "closed"},
        "finding": {"1": "substantiated", "0": "unsubstantiated", "属实": "substantiated", "不属实": "unsubstantiated"},
        "measure": {"警告": "warning", "记过": "demerit", "记大过": "major-demerit", "降级": "demotion", "撤职": "dismissal-from-post",
                    "开除": "expulsion", "严重警告": "serious-warning", "留党察看": "probation-within-party", "问责": "accountability",
                    "监察建议": "supervision-recommendation", "移送检察机关": "transfer-to-procuratorate"}
      }
    }
    """#

    /// 生态环境综合执法系统 exports (JSON, English-ish field names).
    static let environmentBureau = #"""
    {
      "kind": "environment-bureau", "format": "json",
      "fields": {"recordType": "record_type", "recordId": "record_no", "caseId": "hub_case_id", "time": "operate_time"},
      "records": {
        "INSPECTION_CASE": {"label": "检查立案 inspection case opened", "event": "casehub.case.opened.v1", "data": {
          "procedure": {"from": "handling", "as": "code:procedure"},
          "title": {"from": "case_name"},
          "number": {"from": "case_no", "optional": true},
          "summary": {"from": "case_summary", "optional": true}}},
        "PENALTY_DECISION": {"label": "行政处罚决定 penalty decision (case opened under its number)", "event": "casehub.case.opened.v1", "data": {
          "procedure": {"value": "referral"},
          "title": {"from": "case_name"},
          "number": {"from": "decision_no", "check": "penalty-decision-number"},
          "summary": {"from": "decision_summary", "optional": true}}},
        "CRIME_TRANSFER": {"label": "涉嫌犯罪案件移送 crime transfer with materials", "event": "casehub.crime.transferred.v1", "data": {
          "police": {"from": "police_org", "as": "agency"},
          "procuratorate": {"from": "procuratorate_org", "as": "agency"},
          "transferNumber": {"from": "transfer_no"},
          "materials": {"from": "materials", "as": "objects", "fields": {
            "kind": {"from": "type", "as": "code:material"},
            "attachment": {"from": "file", "as": "json"}}},
          "note": {"from": "remark", "optional": true}}},
        "RECOMMENDATION_REPLY": {"label": "检察建议回复 reply to a procuratorial recommendation", "event": "casehub.pil.reply-submitted.v1", "data": {
          "rectified": {"from": "rectified", "as": "boolean"},
          "measures": {"from": "measures", "as": "list"},
          "replyNumber": {"from": "reply_no", "optional": true}}},
        "OFFICIAL_CLUE": {"label": "问题线索移送 clue about officials", "event": "casehub.accountability.clue-referred.v1", "data": {
          "commission": {"from": "commission_org", "as": "agency"},
          "summary": {"from": "clue_summary"},
          "officials": {"from": "officials", "as": "objects", "fields": {
            "name": {"from": "name", "optional": true},
            "position": {"from": "position"}}}}},
        "DAMAGE_ASSESSMENT": {"label": "损害鉴定评估 damage assessed", "event": "casehub.compensation.assessment-completed.v1", "data": {
          "reportNumber": {"from": "report_no"},
          "damageAmount": {"from": "damage_amount", "as": "number"}}},
        "COMPENSATION_CONSULTATION": {"label": "生态环境损害赔偿磋商 consultation started", "event": "casehub.compensation.consultation-started.v1", "data": {
          "responsibleParty": {"from": "liable_party"}}},
        "CONSULTATION_FAILED": {"label": "磋商不成 consultation failed", "event": "casehub.compensation.consultation-failed.v1", "data": {
          "reasons": {"from": "reasons", "as": "list"}}},
        "COMPENSATION_SUIT": {"label": "提起赔偿诉讼 compensation suit", "event": "casehub.compensation.suit-filed.v1", "data": {
          "court": {"from": "court_org", "as": "agency"},
          "consultationFailedEventId": {"from": "failed_record_no", "as": "eventRef"}}}
      },
      "codes": {
        "procedure": {"XS": "referral", "YS": "crime-transfer", "PC": "damage-compensation"},
        "material": {"YSS": "transfer-letter", "DCBG": "investigation-report", "KYQD": "seized-items-list", "JCBG": "test-report",
                     "JDYJ": "expert-opinion", "KCBL": "inspection-record", "ZPSP": "photos-video", "JCSJ": "monitoring-report",
                     "CFJDS": "penalty-decision", "QT": "other"}
      }
    }
    """#
}
