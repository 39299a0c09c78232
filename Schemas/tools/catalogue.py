"""The CaseHub event catalogue: one entry per event type.

This file is the source of the published contract. `make schemas` runs
generate.py, which writes from it:
  Schemas/common.schema.json            shared definitions
  Schemas/events/<type>.schema.json     one JSON Schema 2020-12 per type
  Schemas/examples/<type>/*.json        valid-*.json and invalid-*.json payloads
  Schemas/asyncapi.yaml                 topics and messages (AsyncAPI 3)
  Sources/CaseModel/Generated/EventCatalogue+Generated.swift
  Sources/CaseModel/Generated/EventType+Generated.swift   named event types
  Sources/CaseModel/Generated/RefusalCode+Generated.swift refusal codes
and compiles Schemas/disclosure.json (the need-to-know rule, written by hand
beside its schema disclosure.schema.json) into
  Sources/CaseModel/Generated/Disclosure+Generated.swift
"""

# Patterns end in `$(?!\n)`, not a bare `$`: in ECMA-262 regular expressions
# (what JSON Schema specifies) `$` matches only at the end, but many validators
# (Python's among them) also let `$` match before a final newline. The
# lookahead makes every validator refuse "zz-epb\n" alike.
def anchored(body):
    return "^" + body + "$(?!\\n)"

# Shared definitions, referenced as {"$ref": "../common.schema.json#/$defs/<name>"}.
COMMON = {
    "agencyId": {"type": "string", "pattern": anchored("[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?"),
                 "description": "A registered agency's id, e.g. tianyuan-procuratorate."},
    "caseId": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": anchored("[A-Za-z0-9][A-Za-z0-9._:-]*")},
    "eventId": {"type": "string", "format": "uuid"},
    "date": {"type": "string", "format": "date"},
    "dateTime": {"type": "string", "format": "date-time"},
    "documentNumber": {"type": "string", "minLength": 1, "maxLength": 64,
                       "description": "A document or case number in its issuer's scheme, e.g. （2023）湘02行终23号."},
    "title": {"type": "string", "minLength": 1, "maxLength": 200},
    "text": {"type": "string", "minLength": 1, "maxLength": 4000},
    "reasons": {"type": "array", "minItems": 1, "maxItems": 50,
                "items": {"type": "string", "minLength": 1, "maxLength": 2000}},
    "attachment": {
        "type": "object", "description": "A reference to a file held by the sender; never the file itself.",
        "required": ["name", "sha256", "size"], "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 255},
            "sha256": {"type": "string", "pattern": anchored("[0-9a-f]{64}")},
            "size": {"type": "integer", "minimum": 0, "maximum": 10737418240},
            "mediaType": {"type": "string", "maxLength": 100, "pattern": anchored("[a-z]+/[A-Za-z0-9.+-]+")},
            "uri": {"type": "string", "maxLength": 2000},
        },
    },
    "attachments": {"type": "array", "maxItems": 200, "items": {"$ref": "#/$defs/attachment"}},
    "amount": {"type": "number", "minimum": 0},
}

def ref(name):
    return {"$ref": "../common.schema.json#/$defs/" + name}

A = {"name": "现场检查笔录.pdf", "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "size": 482113, "mediaType": "application/pdf"}

PROCEDURES = {
    "case": ("案件", "Case (any procedure)"),
    "referral": ("移送与受理", "Referral between agencies"),
    "crime": ("涉嫌犯罪案件移送（两法衔接）", "Transfer of a suspected environmental crime"),
    "pil": ("行政公益诉讼", "Administrative public-interest litigation"),
    "civil-pil": ("民事公益诉讼", "Civil public-interest litigation (incl. criminal-incidental)"),
    "litigation": ("诉讼程序", "Court proceedings of a suit"),
    "accountability": ("纪检监察问责", "Accountability (discipline inspection and supervision)"),
    "compensation": ("生态环境损害赔偿", "Ecological damage compensation"),
    "hub": ("枢纽通知", "Notices the hub itself emits"),
}

# Each event: type suffix -> dict(zh, en, sender, required, optional, valid=[...], invalid=[(payload, why)])
# `required`/`optional` map property names to schemas. Every payload schema is closed
# (additionalProperties: false), so a misspelt field is an error, not silently ignored.
EVENTS = {}

def event(procedure, name, zh, en, sender, required, optional=None, valid=None, invalid=None):
    EVENTS[f"casehub.{procedure}.{name}.v1"] = dict(
        procedure=procedure, name=name, zh=zh, en=en, sender=sender,
        required=required, optional=optional or {}, valid=valid or [], invalid=invalid or [])

# Every code the hub refuses an event with: code -> (Chinese, English). The
# receipt carries the code with a reason written for the case at hand; this
# table says what each code means, and generates the Swift `RefusalCode`s.
# The `adapter.*` codes are the adapters' own: requests refused before they
# reach the hub, recorded for administrators with stage `adapter` (the
# adapters also use envelope.invalid, schema.invalid, sender.unknown and
# event.id-reused where they mean the same).
REFUSALS = {
    # the agencies' adapters
    "adapter.impersonation": ("以其他机关的身份提交或访问", "A credential of one agency was used to act as another"),
    "adapter.malformed": ("提交内容不是格式正确的 JSON 或 XML", "The body is not well-formed JSON or XML"),
    "adapter.too-large": ("提交内容超过大小限制", "The body, the batch or a string in it exceeds the adapter's limit"),
    "adapter.batch-empty": ("提交的事件批次为空", "The batch holds no events"),
    "adapter.unstorable-text": ("文本含有无法存储的字符 U+0000", "Text holds U+0000, which cannot be stored"),
    "adapter.record-invalid": ("原生记录无法映射为合规的事件", "A native record cannot be mapped to a valid canonical event"),
    "adapter.no-native-mapping": ("该类机关没有原生记录映射", "Agencies of this kind have no native record mapping"),
    "adapter.unsupported-file": ("文件类型不受支持", "A dropped file is neither .json nor .xml"),
    "adapter.delivery-unsigned": ("投递主题上的记录没有枢纽签名", "A record on the agency's delivery topic carries no hub signature"),
    "adapter.delivery-forged": ("投递主题上的记录不是枢纽签发的或已被改动",
                                "A record on the agency's delivery topic is not signed by a hub key the adapter trusts, or was altered"),
    # the envelope and the sender
    "envelope.invalid": ("事件信封格式不正确", "The CloudEvents envelope is malformed"),
    "topic.unknown": ("未知的主题", "The record came on a topic that is not an agency's"),
    "sender.unknown": ("发送机关未登记", "The sending agency is not registered"),
    "sender.mismatch": ("事件声明的发送机关与其所在主题的机关不一致", "The declared source is not the agency whose topic carried the event"),
    "signature.missing": ("事件缺少签名", "The event carries no adapter signature"),
    "signature.malformed": ("签名格式不正确", "The signature attribute is not <key id>:<base64>"),
    "signature.unknown-key": ("签名密钥未登记", "The signing key is not registered for the sender"),
    "signature.key-retired": ("签名密钥已停用", "The signing key was retired before the hub received the event"),
    "signature.invalid": ("签名验证失败", "The signature does not match the event"),
    "event.id-reused": ("事件编号已被内容不同的事件使用", "The event id was used before for other content"),
    "event.unprocessable": ("枢纽无法处理该事件", "The hub could not store the event; it was refused so that others proceed"),
    "time.in-future": ("事件时间晚于当前时间", "The declared time lies in the future"),
    "event.import-mark": ("只有管理员导入的历史案件事件可以带有导入标记", "Only an administrator's import of historical cases may carry the casehubimport attribute"),
    "time.outside-record": ("所填日期早于本案记录或晚于枢纽收到事件的时间",
                            "A date in the payload lies before the case's record of the act it follows, or after the hub received the event"),
    # type and payload
    "type.unknown": ("未知的事件类型", "The event type is not in the catalogue"),
    "type.reserved": ("该类型事件只能由枢纽发出", "Only the hub emits this type"),
    "schema.invalid": ("事件内容不符合数据规范", "The payload breaks its type's schema"),
    "agency.unknown": ("机关未登记", "A field names an agency that is not registered"),
    "agency.wrong-kind": ("机关类别不符", "A field names an agency of the wrong kind"),
    "reasons.required": ("应当说明理由", "The decision must record its reasons"),
    "proof.mismatch": ("所附证明与本案记录不符", "A referenced event is not the one the case records"),
    "number.invalid": ("文书编号不符合编号规则", "A document or case number breaks its numbering rules"),
    "number.not-senders": ("文书编号不是发送机关的编号", "The number carries another issuer's code than the sender's"),
    "penalty.instead-of-transfer": ("已决定移送的涉嫌犯罪案件不得以行政处罚代替移送",
                                    "A case whose transfer to the police was decided cannot be settled by an administrative penalty instead"),
    "penalty.number-reused": ("该处罚决定书编号已用于另一案件", "The issuing bureau used this penalty decision number for another decision"),
    # the case
    "case.unknown": ("案件不存在", "No such case (for this sender)"),
    "case.id-namespace": ("案件标识应以立案机关代码和冒号开头", "A case's id begins with the id of the agency that opens it and a colon"),
    "case.exists": ("案件已存在", "A case with this id exists"),
    "case.closed": ("案件已办结", "The case is closed"),
    "procedure.unknown": ("未知的程序", "The procedure named is not known"),
    "procedure.mismatch": ("事件不属于本案程序", "The event belongs to another procedure than the case's"),
    "sender.not-allowed": ("发送机关在本案中无权发出该事件", "The sender's role on the case does not allow this event"),
    "transition.not-allowed": ("本案当前状态不允许该事件", "The case's state does not allow this event now"),
    "link.self": ("案件不能关联自身", "A case cannot be linked to itself"),
    "deadline.passed": ("期限已届满", "The period for this act has run"),
    "deadline.not-running": ("相关期限未在计算中", "No such period is running"),
    # procedures
    "referral.to-self": ("不能向本机关移送", "An agency cannot refer a case to itself"),
    "pil.no-recommendation": ("尚未发出检察建议", "No pre-litigation recommendation was issued"),
    "pil.reply-period-running": ("检察建议回复期限未届满", "The organ's reply period is still running"),
    "pil.no-continuing-failure": ("跟进调查未认定仍未依法履职且公益仍处于受侵害状态", "No follow-up found the organ still failing and the harm continuing"),
    "recommendation.wrong-agency": ("检察建议对象不符", "The reply is not from the organ the recommendation addressed"),
    "civil-pil.announcement-running": ("诉前公告期未届满", "The 30-day pre-suit announcement is still running"),
    "suit.wrong-court": ("受诉法院不符", "The court is not the one the suit was filed with"),
    "judgment.wrong-instance": ("审级不符", "The judgment names another instance than the case's"),
    "appeal.wrong-court": ("上诉法院不符", "The appeal court is not the one above the first-instance court"),
    "appeal.period-running": ("上诉期限未届满，裁判尚未生效", "The appeal period has not run; the decision is not final yet"),
    "appeal.final-instance": ("终审裁判不得上诉", "A final-instance decision cannot be appealed"),
    "litigation.parallel-pending": ("同一损害行为的生态环境损害赔偿案件尚未审结，民事公益诉讼应当中止审理",
                                    "A damage-compensation case for the same act is pending: the civil PIL waits until it ends or the court resumes"),
    "accountability.no-verification": ("尚未完成初步核实", "No preliminary verification was concluded"),
    "feedback.wrong-referrer": ("反馈对象不是移送机关", "Feedback goes to the agency that referred the clue"),
    "consultation.round-order": ("磋商轮次不连续", "Consultation rounds come in order"),
    "consultation.rounds-exceeded": ("磋商轮次超过上限", "Too many consultation rounds"),
}

PROCEDURE_NAMES = ["referral", "crime-transfer", "administrative-pil", "civil-pil", "accountability", "damage-compensation"]

# --- case ----------------------------------------------------------------------------------------
event("case", "opened", "立案/建立案件", "Case opened", "the agency that holds the case",
      {"procedure": {"type": "string", "enum": PROCEDURE_NAMES}, "title": ref("title")},
      {"number": ref("documentNumber"), "summary": ref("text"), "criminalIncidental": {"type": "boolean"},
       "attachments": ref("attachments")},
      valid=[{"procedure": "administrative-pil", "title": "渌口区某化工企业超标排放案", "number": "株渌检行公立〔2025〕3号"},
             {"procedure": "civil-pil", "title": "非法倾倒危险废物案", "criminalIncidental": True}],
      invalid=[({"procedure": "tax", "title": "x"}, "procedure not in the enum"),
               ({"procedure": "referral", "title": ""}, "empty title")])
PENALTY_KINDS = ["warning", "fine", "confiscation", "suspension", "license-revoked", "detention-referral", "other"]
event("case", "penalty-decided", "行政处罚决定", "Administrative penalty decided", "the environment bureau holding the case (or opening one)",
      {"decisionNumber": ref("documentNumber"), "decidedOn": ref("date"), "summary": ref("text")},
      {"penalties": {"type": "array", "minItems": 1, "maxItems": 10, "uniqueItems": True, "items": {"type": "string", "enum": PENALTY_KINDS}},
       "fineAmount": ref("amount"), "title": ref("title"),
       "relatedCaseId": dict(ref("caseId"), description="A case the decision concerns, e.g. the bureau's crime-transfer case for the same act."),
       "relatedNumber": dict(ref("documentNumber"), description="The bureau's own number of such a case (its case or transfer number)."),
       "attachments": ref("attachments")},
      valid=[{"decisionNumber": "株环罚字〔2025〕醴-24号", "decidedOn": "2025-06-03", "summary": "超标排放含镉废水",
              "penalties": ["fine", "suspension"], "fineAmount": 200000, "title": "某冶炼厂超标排放案"},
             {"decisionNumber": "株环罚字〔2025〕S-7号", "decidedOn": "2025-06-05", "summary": "未批先建", "relatedCaseId": "zz-epb-2025-0041"}],
      invalid=[({"decisionNumber": "株环罚字〔2025〕醴-24号", "summary": "x"}, "decision date missing"),
               ({"decisionNumber": "株环罚字〔2025〕醴-24号", "decidedOn": "2025-06-03", "summary": "x", "penalties": ["jail"]}, "penalty kind not in the enum")])
event("case", "linked", "关联案件", "Cases linked", "a party to both cases",
      {"linkedCaseId": ref("caseId"), "relation": {"type": "string", "enum": ["spawned-from", "spawned", "same-act", "parallel-suspended"]}},
      {"note": ref("text")},
      valid=[{"linkedCaseId": "zz-epb-2025-0041", "relation": "spawned-from"}],
      invalid=[({"linkedCaseId": "a b", "relation": "spawned-from"}, "case id with a space")])

# --- referral -------------------------------------------------------------------------------------
event("referral", "submitted", "移送", "Referral submitted", "any agency",
      {"receiver": ref("agencyId"), "referralKind": {"type": "string", "enum": ["case-file", "clue", "official-clue", "supplementary", "other"]},
       "summary": ref("text")},
      {"number": ref("documentNumber"), "attachments": ref("attachments")},
      valid=[{"receiver": "zz-procuratorate", "referralKind": "clue", "summary": "湘江支流排污口异常", "attachments": [A]}],
      invalid=[({"receiver": "ZZ-Procuratorate", "referralKind": "clue", "summary": "x"}, "agency id in upper case"),
               ({"receiver": "zz-procuratorate", "referralKind": "clue", "summary": "x", "attachments": [dict(A, sha256="XYZ")]}, "bad sha256")])
event("referral", "received", "签收（技术回执）", "Referral received (technical receipt)", "the receiver",
      {"referralEventId": ref("eventId")}, {},
      valid=[{"referralEventId": "0b7e4c1a-3f7e-4c44-9a55-1f0c2f1e9d10"}],
      invalid=[({"referralEventId": "0b7e4c1a3f7e4c449a551f0c2f1e9d10"}, "uuid without hyphens")])
event("referral", "accepted", "受理", "Referral accepted", "the receiver",
      {"receiverNumber": ref("documentNumber"), "acceptedOn": ref("date")}, {"note": ref("text")},
      valid=[{"receiverNumber": "株检行公受〔2025〕12号", "acceptedOn": "2025-03-04"}],
      invalid=[({"receiverNumber": "x", "acceptedOn": "2025-02-30"}, "no 30 February")])
# A returned file (退回案卷) says what goes back, item by item, beside the reasons.
RETURNED_ITEM = {
    "type": "object", "required": ["name"], "additionalProperties": False,
    "properties": {
        "name": ref("title"),
        "copies": {"type": "integer", "minimum": 1, "maximum": 10000},
        "pages": {"type": "integer", "minimum": 1, "maximum": 100000},
        "attachment": ref("attachment"),
        "note": ref("text"),
    },
}
event("referral", "returned", "退回", "Referral returned", "the receiver",
      {"reasons": ref("reasons"),
       "returnedItems": {"type": "array", "minItems": 1, "maxItems": 200, "items": RETURNED_ITEM,
                         "description": "What is returned: every document or item of the file, with copies and pages where counted."}},
      {"attachments": ref("attachments")},
      valid=[{"reasons": ["缺少监测报告", "证据材料不全"],
              "returnedItems": [{"name": "案件移送书", "copies": 1, "pages": 2}, {"name": "现场检查笔录", "copies": 1, "pages": 5, "attachment": A},
                                {"name": "涉案物品清单", "note": "原件"}]}],
      invalid=[({"reasons": []}, "no reason given"),
               ({"reasons": ["证据材料不全"]}, "no returned items listed"),
               ({"reasons": ["证据材料不全"], "returnedItems": []}, "an empty list of returned items"),
               ({"reasons": ["证据材料不全"], "returnedItems": [{"name": "案件移送书", "copies": 0}]}, "zero copies")])
event("referral", "supplement-requested", "要求补充材料", "Supplement requested", "the receiver",
      {"items": {"type": "array", "minItems": 1, "maxItems": 50, "items": ref("text")}}, {"dueOn": ref("date")},
      valid=[{"items": ["现场照片", "采样送检记录"], "dueOn": "2025-04-01"}],
      invalid=[({"items": "现场照片"}, "items must be a list")])
event("referral", "supplement-provided", "补充材料", "Supplement provided", "the sender of the referral",
      {"attachments": {"type": "array", "minItems": 1, "maxItems": 200, "items": ref("attachment")}}, {"note": ref("text")},
      valid=[{"attachments": [A]}],
      invalid=[({"attachments": [{"name": "a.pdf", "sha256": A["sha256"]}]}, "attachment without size")])
event("referral", "concluded", "办结", "Referral concluded", "the receiver",
      {"outcome": ref("text")}, {"number": ref("documentNumber")},
      valid=[{"outcome": "已立案侦查"}],
      invalid=[({"outcome": 3}, "outcome must be text")])

# --- crime transfer (两法衔接) ---------------------------------------------------------------------
MATERIAL_KINDS = ["transfer-letter", "investigation-report", "seized-items-list", "test-report", "expert-opinion",
                  "inspection-record", "photos-video", "monitoring-report", "penalty-decision", "other"]
event("crime", "case-reported", "案件调查报告提请", "Investigation report submitted to the head", "the enforcement body",
      {"summary": ref("text")}, {"number": ref("documentNumber"), "attachments": ref("attachments")},
      valid=[{"summary": "某公司利用渗坑排放有毒物质，涉嫌污染环境罪"}],
      invalid=[({}, "summary missing")])
event("crime", "transfer-decided", "移送决定", "Transfer decided by the head", "the enforcement body",
      {"decision": {"type": "string", "enum": ["transfer", "not-transfer"]}}, {"reasons": ref("reasons"), "decidedBy": ref("title")},
      valid=[{"decision": "transfer", "decidedBy": "局长"}, {"decision": "not-transfer", "reasons": ["未达到立案追诉标准"]}],
      invalid=[({"decision": "maybe"}, "decision not in the enum")])
# Who is suspected. Personal identifiers (身份证号, phone, address) reach only
# the recipients whose duty needs them: Schemas/disclosure.json.
SUSPECT = {
    "type": "object", "required": ["kind", "name"], "additionalProperties": False,
    "properties": {
        "kind": {"type": "string", "enum": ["person", "organisation"]},
        "name": ref("title"),
        "idNumber": {"type": "string", "pattern": anchored("[0-9]{17}[0-9X]"), "description": "居民身份证号码 of a person."},
        "creditCode": {"type": "string", "pattern": anchored("[0-9A-Z]{18}"), "description": "统一社会信用代码 of an organisation."},
        "phone": {"type": "string", "pattern": anchored("[+]?[0-9][0-9 -]{4,29}")},
        "address": ref("text"),
    },
}
event("crime", "transferred", "移送公安机关", "Case transferred to police", "the enforcement body",
      {"police": ref("agencyId"), "procuratorate": ref("agencyId"), "transferNumber": ref("documentNumber"),
       "materials": {"type": "array", "minItems": 1, "maxItems": 200, "items": {
           "type": "object", "required": ["kind", "attachment"], "additionalProperties": False,
           "properties": {"kind": {"type": "string", "enum": MATERIAL_KINDS}, "attachment": ref("attachment")}}}},
      {"note": ref("text"),
       "suspects": {"type": "array", "minItems": 1, "maxItems": 50, "items": SUSPECT,
                    "description": "The persons and organisations suspected, with what identifies them."}},
      valid=[{"police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "株环移〔2025〕2号",
              "materials": [{"kind": "transfer-letter", "attachment": A}, {"kind": "monitoring-report", "attachment": A}]},
             {"police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "株环移〔2025〕3号",
              "materials": [{"kind": "investigation-report", "attachment": A}],
              "suspects": [{"kind": "organisation", "name": "某化工有限公司", "creditCode": "91430200MA4L0XXXX1"},
                           {"kind": "person", "name": "张某", "idNumber": "43020019800101123X", "phone": "13800000000",
                            "address": "株洲市天元区某路1号"}]}],
      invalid=[({"police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "x", "materials": []}, "no materials"),
               ({"police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "x",
                 "materials": [{"kind": "gossip", "attachment": A}]}, "unknown material kind"),
               ({"police": "zz-psb", "procuratorate": "zz-procuratorate", "transferNumber": "x",
                 "materials": [{"kind": "other", "attachment": A}], "suspects": [{"kind": "person", "name": "张某", "idNumber": "4302001980"}]},
                "identity card number too short")])
event("crime", "receipt-signed", "公安机关签收回执", "Police signed the receipt", "the police",
      {}, {"receiptNumber": ref("documentNumber")},
      valid=[{}, {"receiptNumber": "株公回〔2025〕8号"}],
      invalid=[({"receipt": "x"}, "unknown property")])
event("crime", "forwarded", "移交有管辖权的公安机关", "Forwarded to the police with jurisdiction", "the police",
      {"police": ref("agencyId"), "notice": ref("text")}, {},
      valid=[{"police": "liling-psb", "notice": "案件发生地属醴陵市，已移交并书面告知"}],
      invalid=[({"police": "liling-psb"}, "notice missing")])
event("crime", "filing-decided", "立案决定", "Police filing decision", "the police",
      {"decision": {"type": "string", "enum": ["filed", "not-filed"]}},
      {"policeNumber": ref("documentNumber"), "reasons": ref("reasons")},
      valid=[{"decision": "filed", "policeNumber": "株公环立字〔2025〕5号"}, {"decision": "not-filed", "reasons": ["无犯罪事实"]}],
      invalid=[({"decision": "filed", "policeNumber": ""}, "empty number")])
event("crime", "filing-period-extended", "延长立案审查期限", "Filing review period extended", "the police",
      {"extension": {"type": "string", "enum": ["clue-check-7-days", "major-complex-30-days"]}}, {"approvedBy": ref("title")},
      valid=[{"extension": "major-complex-30-days", "approvedBy": "市公安局负责人"}],
      invalid=[({"extension": "90-days"}, "not an allowed extension")])
event("crime", "reconsideration-requested", "提请复议", "Reconsideration requested", "the enforcement body",
      {"reasons": ref("reasons")}, {"attachments": ref("attachments")},
      valid=[{"reasons": ["监测数据表明超标三倍以上"]}], invalid=[({"reasons": [""]}, "empty reason")])
event("crime", "reconsideration-answered", "复议决定", "Reconsideration answered", "the police",
      {"decision": {"type": "string", "enum": ["filed", "maintained"]}}, {"reasons": ref("reasons"), "policeNumber": ref("documentNumber")},
      valid=[{"decision": "maintained", "reasons": ["证据不足"]}], invalid=[({"decision": "reversed"}, "not in the enum")])
event("crime", "supervision-requested", "建议检察院立案监督", "Filing supervision requested", "the enforcement body",
      {"procuratorate": ref("agencyId"), "reasons": ref("reasons")}, {"attachments": ref("attachments")},
      valid=[{"procuratorate": "zz-procuratorate", "reasons": ["公安机关应当立案而不立案"]}],
      invalid=[({"procuratorate": "zz procuratorate", "reasons": ["x"]}, "agency id with a space")])
event("crime", "explanation-requested", "要求说明不立案理由", "Police asked to explain", "the procuratorate",
      {}, {"documentNumber": ref("documentNumber")},
      valid=[{"documentNumber": "株检侦监〔2025〕1号"}], invalid=[({"documentNumber": 12}, "number must be text")])
event("crime", "explanation-given", "说明不立案理由", "Police explained", "the police",
      {"reasons": ref("reasons")}, {},
      valid=[{"reasons": ["涉案企业已整改"]}], invalid=[({}, "reasons missing")])
event("crime", "filing-notice-issued", "通知立案", "Notice to file issued", "the procuratorate",
      {"documentNumber": ref("documentNumber")}, {"reasons": ref("reasons")},
      valid=[{"documentNumber": "株检通立〔2025〕2号"}], invalid=[({"documentNumber": None}, "number is null")])
event("crime", "procuratorial-opinion-issued", "检察意见（应当移送）", "Procuratorial opinion: transfer the case", "the procuratorate",
      {"documentNumber": ref("documentNumber")}, {"reasons": ref("reasons")},
      valid=[{"documentNumber": "株检意〔2025〕4号"}], invalid=[({"documentNumber": "x", "extra": 1}, "unknown property")])
event("crime", "exhibits-handed-over", "移交涉案物品", "Exhibits handed over", "the enforcement body",
      {"items": {"type": "array", "minItems": 1, "maxItems": 500, "items": ref("text")}}, {"attachments": ref("attachments")},
      valid=[{"items": ["废液样品 3 桶", "采样记录"]}], invalid=[({"items": []}, "no items")])

# --- administrative PIL -------------------------------------------------------------------------------
event("pil", "clue-registered", "线索登记", "PIL clue registered", "the procuratorate",
      {"clueSource": {"type": "string", "enum": ["referral", "own-discovery", "public-report", "other"]}, "summary": ref("text")},
      {"referralCaseId": ref("caseId")},
      valid=[{"clueSource": "referral", "summary": "生态环境局移送：某企业长期超标排放", "referralCaseId": "zz-epb-2025-0041"}],
      invalid=[({"clueSource": "rumour", "summary": "x"}, "clue source not in the enum")])
event("pil", "filed", "立案", "PIL case filed", "the procuratorate",
      {"documentNumber": ref("documentNumber"), "agency": ref("agencyId")}, {"summary": ref("text")},
      valid=[{"documentNumber": "株天检行公立〔2025〕5号", "agency": "zz-epb-tianyuan"}],
      invalid=[({"documentNumber": "x"}, "agency missing")])
event("pil", "filing-notice-served", "立案告知送达", "Filing notice served on the agency", "the procuratorate",
      {"servedAt": ref("dateTime")}, {},
      valid=[{"servedAt": "2025-03-10T09:30:00+08:00"}], invalid=[({"servedAt": "2025-03-10 09:30"}, "not RFC 3339")])
event("pil", "recommendation-issued", "发出诉前检察建议", "Pre-litigation recommendation issued", "the procuratorate holding the case",
      {"documentNumber": ref("documentNumber"), "agency": ref("agencyId"), "urgent": {"type": "boolean"},
       "recommendations": {"type": "array", "minItems": 1, "maxItems": 30, "items": ref("text")}},
      {"attachments": ref("attachments")},
      valid=[{"documentNumber": "株天检行公建〔2025〕7号", "agency": "zz-epb-tianyuan", "urgent": False,
              "recommendations": ["依法全面履行监管职责", "督促企业停止超标排放"]}],
      invalid=[({"documentNumber": "x", "agency": "zz-epb", "urgent": "no", "recommendations": ["y"]}, "urgent must be boolean"),
               ({"documentNumber": "x", "agency": "zz-epb", "urgent": True, "recommendations": []}, "no recommendation")])
event("pil", "recommendation-received", "检察建议送达签收", "Recommendation received by the agency", "the addressed agency",
      {"receivedAt": ref("dateTime")}, {"receiverName": ref("title")},
      valid=[{"receivedAt": "2025-03-12T10:00:00+08:00"}], invalid=[({"receivedAt": "yesterday"}, "not a date-time")])
event("pil", "recommendation-recorded", "检察建议报上级院备案", "Recommendation recorded with the upper procuratorate", "the procuratorate",
      {"upperProcuratorate": ref("agencyId")}, {},
      valid=[{"upperProcuratorate": "zz-procuratorate"}], invalid=[({"upperProcuratorate": ""}, "empty id")])
event("pil", "reply-submitted", "书面回复", "Written reply to the recommendation", "the addressed agency",
      {"rectified": {"type": "boolean"}, "measures": {"type": "array", "minItems": 1, "maxItems": 50, "items": ref("text")}},
      {"replyNumber": ref("documentNumber"), "attachments": ref("attachments")},
      valid=[{"rectified": True, "measures": ["已责令停产整治", "已处罚款二十万元"], "replyNumber": "株环函〔2025〕31号"}],
      invalid=[({"rectified": True}, "measures missing")])
event("pil", "follow-up-recorded", "跟进调查", "Follow-up investigation recorded", "the procuratorate",
      {"agencyStillFailing": {"type": "boolean"}, "harmContinuing": {"type": "boolean"}, "findings": ref("text")},
      {"attachments": ref("attachments")},
      valid=[{"agencyStillFailing": True, "harmContinuing": True, "findings": "排污口仍在排放，监测超标"}],
      invalid=[({"agencyStillFailing": "yes", "harmContinuing": True, "findings": "x"}, "must be boolean")])
event("pil", "terminated", "终结案件", "PIL case terminated", "the procuratorate",
      {"reasons": ref("reasons")}, {"documentNumber": ref("documentNumber")},
      valid=[{"reasons": ["行政机关已全面整改"]}], invalid=[({"reasons": "整改"}, "reasons must be a list")])
event("pil", "suit-filed", "提起行政公益诉讼", "Administrative PIL suit filed", "the procuratorate holding the case",
      {"court": ref("agencyId"), "complaintNumber": ref("documentNumber"),
       "proofs": {"type": "object", "additionalProperties": False,
                  "required": ["recommendationEventId", "followUpEventId"],
                  "properties": {"recommendationEventId": ref("eventId"), "replyEventId": ref("eventId"), "followUpEventId": ref("eventId")}}},
      {"attachments": ref("attachments")},
      valid=[{"court": "tianyuan-court", "complaintNumber": "株天检行公诉〔2025〕1号",
              "proofs": {"recommendationEventId": "3d0f1c2a-8a44-4b7a-9e54-0cc6f0a1b2c3", "followUpEventId": "5a6b7c8d-1e2f-4a3b-8c9d-0e1f2a3b4c5d"}}],
      invalid=[({"court": "tianyuan-court", "complaintNumber": "x", "proofs": {}}, "proofs missing")])

# --- civil PIL ------------------------------------------------------------------------------------------
event("civil-pil", "clue-registered", "线索登记", "Civil PIL clue registered", "the procuratorate",
      {"clueSource": {"type": "string", "enum": ["referral", "own-discovery", "public-report", "criminal-case", "other"]}, "summary": ref("text")},
      {"criminalCaseId": ref("caseId")},
      valid=[{"clueSource": "criminal-case", "summary": "非法倾倒危险废物，造成土壤污染", "criminalCaseId": "zz-psb-2025-0007"}],
      invalid=[({"summary": "x"}, "clue source missing")])
event("civil-pil", "filed", "立案", "Civil PIL case filed", "the procuratorate",
      {"documentNumber": ref("documentNumber")}, {"criminalIncidental": {"type": "boolean"}, "summary": ref("text")},
      valid=[{"documentNumber": "株检民公立〔2025〕2号", "criminalIncidental": True}],
      invalid=[({"documentNumber": "x", "criminalIncidental": "yes"}, "must be boolean")])
event("civil-pil", "announcement-published", "诉前公告", "Pre-suit announcement published (30 days)", "the procuratorate holding the case",
      {"documentNumber": ref("documentNumber"), "publishedOn": ref("date"), "channel": ref("title")}, {},
      valid=[{"documentNumber": "株检民公告〔2025〕2号", "publishedOn": "2025-05-06", "channel": "正义网"}],
      invalid=[({"documentNumber": "x", "publishedOn": "2025/05/06", "channel": "正义网"}, "date with slashes")])
event("civil-pil", "announcement-ended", "公告期满", "Announcement period ended", "the procuratorate holding the case",
      {"qualifiedPlaintiffSued": {"type": "boolean"}}, {"plaintiff": ref("title")},
      valid=[{"qualifiedPlaintiffSued": False}], invalid=[({}, "outcome missing")])
event("civil-pil", "support-prosecution", "支持起诉", "Supporting a qualified plaintiff's suit", "the procuratorate holding the case",
      {"plaintiff": ref("title"), "court": ref("agencyId")}, {"documentNumber": ref("documentNumber")},
      valid=[{"plaintiff": "湖南省环保联合会", "court": "zz-court"}], invalid=[({"plaintiff": "x"}, "court missing")])
event("civil-pil", "suit-filed", "提起民事公益诉讼", "Civil PIL suit filed", "the procuratorate holding the case",
      {"court": ref("agencyId"), "complaintNumber": ref("documentNumber"), "announcementEventId": ref("eventId")},
      {"attachments": ref("attachments")},
      valid=[{"court": "zz-court", "complaintNumber": "株检民公诉〔2025〕1号", "announcementEventId": "7c9e6679-7425-40de-944b-e07fc1f90ae7"}],
      invalid=[({"court": "zz-court", "complaintNumber": "x"}, "announcement proof missing")])
event("civil-pil", "terminated", "终结案件", "Civil PIL case terminated", "the procuratorate",
      {"reasons": ref("reasons")}, {},
      valid=[{"reasons": ["适格主体已起诉且无需支持"]}], invalid=[({"reasons": [1]}, "reason must be text")])

# --- litigation (court steps shared by suits) -------------------------------------------------------------
event("litigation", "accepted", "法院受理", "Suit accepted by the court", "the court seized",
      {"caseNumber": ref("documentNumber"), "acceptedOn": ref("date"), "causeOfAction": ref("title")}, {},
      valid=[{"caseNumber": "（2025）湘0211行初12号", "acceptedOn": "2025-06-03", "causeOfAction": "环境保护行政公益诉讼"}],
      invalid=[({"caseNumber": "x", "acceptedOn": "2025-06-03"}, "cause of action missing")])
event("litigation", "hearing-scheduled", "开庭排期", "Hearing scheduled", "the court seized",
      {"hearingAt": ref("dateTime")}, {"place": ref("title")},
      valid=[{"hearingAt": "2025-07-15T09:00:00+08:00", "place": "第三审判庭"}], invalid=[({"hearingAt": "2025-07-15"}, "date without time")])
event("litigation", "judgment-issued", "判决/裁定", "Judgment or ruling issued", "the court seized",
      {"instance": {"type": "string", "enum": ["first", "second"]}, "form": {"type": "string", "enum": ["judgment", "ruling"]},
       "documentNumber": ref("documentNumber"), "outcome": ref("text"), "servedOn": ref("date")}, {},
      valid=[{"instance": "first", "form": "judgment", "documentNumber": "（2025）湘0211行初12号", "outcome": "确认被告未依法履职违法，责令继续履行", "servedOn": "2025-09-02"}],
      invalid=[({"instance": "third", "form": "judgment", "documentNumber": "x", "outcome": "y", "servedOn": "2025-09-02"}, "no third instance")])
event("litigation", "suspended", "中止审理", "Proceedings suspended", "the court seized",
      {"suspendedOn": ref("date"), "reasons": ref("reasons")}, {"rulingNumber": ref("documentNumber")},
      valid=[{"suspendedOn": "2025-08-01", "reasons": ["同一污染环境行为的生态环境损害赔偿诉讼尚未审结"], "rulingNumber": "（2025）湘02民初45号"}],
      invalid=[({"suspendedOn": "2025-08-01"}, "no reasons given")])
event("litigation", "resumed", "恢复审理", "Proceedings resumed", "the court seized",
      {"resumedOn": ref("date")}, {"reasons": ref("reasons")},
      valid=[{"resumedOn": "2025-11-03", "reasons": ["生态环境损害赔偿诉讼已审结"]}],
      invalid=[({"resumedOn": "3.11.2025"}, "not ISO date")])
event("litigation", "withdrawn", "撤诉", "Suit withdrawn", "the plaintiff (with the court's leave)",
      {"reasons": ref("reasons")}, {"rulingNumber": ref("documentNumber")},
      valid=[{"reasons": ["诉讼请求已全部实现"]}], invalid=[({"reasons": None}, "null reasons")])
event("litigation", "appeal-filed", "上诉", "Appeal filed", "a party",
      {"appellant": ref("title"), "appealCourt": ref("agencyId")}, {"reasons": ref("reasons")},
      valid=[{"appellant": "株洲市生态环境局天元分局", "appealCourt": "zz-court"}], invalid=[({"appellant": "x", "appealCourt": 7}, "court id must be text")])
event("litigation", "final", "裁判生效", "Judgment final", "the court seized",
      {"effectiveOn": ref("date")}, {"documentNumber": ref("documentNumber")},
      valid=[{"effectiveOn": "2025-09-18"}], invalid=[({"effectiveOn": "18.09.2025"}, "not ISO date")])
event("litigation", "enforcement-transferred", "移送执行", "Transferred to enforcement", "the court seized",
      {"enforcementNumber": ref("documentNumber")}, {},
      valid=[{"enforcementNumber": "（2025）湘0211执345号"}], invalid=[({}, "number missing")])

# --- accountability -----------------------------------------------------------------------------------------
event("accountability", "clue-referred", "移送问题线索", "Clue about officials referred", "any state organ",
      {"commission": ref("agencyId"), "summary": ref("text"),
       "officials": {"type": "array", "minItems": 1, "maxItems": 50, "items": {
           "type": "object", "required": ["position"], "additionalProperties": False,
           "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 50}, "position": ref("title")}}}},
      {"attachments": ref("attachments"), "relatedCaseId": ref("caseId")},
      valid=[{"commission": "zz-cdi", "summary": "对企业长期超标排放监管不力", "officials": [{"position": "某分局局长"}]}],
      invalid=[({"commission": "zz-cdi", "summary": "x", "officials": [{"name": "张三"}]}, "position missing")])
event("accountability", "disposal-chosen", "线索处置", "Clue disposal chosen", "the supervision commission",
      {"disposal": {"type": "string", "enum": ["talk-or-letter-inquiry", "preliminary-verification", "shelved", "closed"]}},
      {"reasons": ref("reasons")},
      valid=[{"disposal": "preliminary-verification"}], invalid=[({"disposal": "arrest"}, "not one of the four")])
event("accountability", "inquiry-replied", "函询回复", "Written reply to the inquiry", "the supervision commission",
      {"summary": ref("text")}, {},
      valid=[{"summary": "被函询人已作出书面说明"}], invalid=[({"summary": ""}, "empty summary")])
event("accountability", "verification-concluded", "初步核实结束", "Preliminary verification concluded", "the supervision commission",
      {"finding": {"type": "string", "enum": ["substantiated", "unsubstantiated"]}}, {"summary": ref("text")},
      valid=[{"finding": "substantiated"}], invalid=[({"finding": "unclear"}, "not in the enum")])
event("accountability", "review-filed", "立案审查调查", "Filed for review and investigation", "the supervision commission",
      {"documentNumber": ref("documentNumber")}, {},
      valid=[{"documentNumber": "株纪立〔2025〕9号"}], invalid=[({"documentNumber": ["x"]}, "must be text")])
SANCTIONS = ["warning", "demerit", "major-demerit", "demotion", "dismissal-from-post", "expulsion",
             "serious-warning", "probation-within-party", "accountability", "supervision-recommendation",
             "transfer-to-procuratorate", "withdrawn"]
event("accountability", "sanction-decided", "处理决定", "Sanction decided", "the supervision commission",
      {"measures": {"type": "array", "minItems": 1, "maxItems": 20, "uniqueItems": True, "items": {"type": "string", "enum": SANCTIONS}}},
      {"documentNumber": ref("documentNumber"), "summary": ref("text")},
      valid=[{"measures": ["major-demerit", "accountability"], "documentNumber": "株纪处〔2025〕3号"}],
      invalid=[({"measures": ["warning", "warning"]}, "duplicate measure"), ({"measures": ["fine"]}, "not a sanction")])
event("accountability", "feedback-sent", "反馈移送机关", "Feedback sent to the referring organ", "the supervision commission",
      {"referrer": ref("agencyId"), "summary": ref("text")}, {},
      valid=[{"referrer": "tianyuan-procuratorate", "summary": "已对相关责任人给予党内严重警告处分"}],
      invalid=[({"referrer": "tianyuan-procuratorate"}, "summary missing")])

# --- damage compensation -------------------------------------------------------------------------------------------
event("compensation", "assessment-completed", "损害调查评估完成", "Damage assessment completed", "the claimant department",
      {"reportNumber": ref("documentNumber"), "damageAmount": ref("amount")}, {"attachments": ref("attachments")},
      valid=[{"reportNumber": "湘环评估〔2025〕11号", "damageAmount": 1862000.5}],
      invalid=[({"reportNumber": "x", "damageAmount": -1}, "negative amount")])
event("compensation", "consultation-started", "启动磋商", "Consultation started", "the claimant department",
      {"responsibleParty": ref("title")}, {},
      valid=[{"responsibleParty": "某化工有限公司"}], invalid=[({"responsibleParty": 1}, "must be text")])
event("compensation", "consultation-round-held", "磋商", "Consultation round held", "the claimant department",
      {"round": {"type": "integer", "minimum": 1, "maximum": 10}, "heldOn": ref("date")}, {"summary": ref("text")},
      valid=[{"round": 1, "heldOn": "2025-04-20"}], invalid=[({"round": 1.5, "heldOn": "2025-04-20"}, "round must be whole")])
event("compensation", "agreement-reached", "达成赔偿协议", "Compensation agreement reached", "the claimant department",
      {"agreementNumber": ref("documentNumber"), "amount": ref("amount")}, {"attachments": ref("attachments")},
      valid=[{"agreementNumber": "株环赔协〔2025〕1号", "amount": 1500000}], invalid=[({"agreementNumber": "x"}, "amount missing")])
event("compensation", "consultation-failed", "磋商不成", "Consultation failed", "the claimant department",
      {"reasons": ref("reasons")}, {},
      valid=[{"reasons": ["赔偿义务人拒绝承担修复费用"]}], invalid=[({"reasons": []}, "no reason")])
event("compensation", "confirmation-requested", "申请司法确认", "Judicial confirmation requested", "the claimant department",
      {"court": ref("agencyId")}, {},
      valid=[{"court": "zz-court"}], invalid=[({"court": "Zhuzhou Court"}, "not an agency id")])
event("compensation", "confirmed", "司法确认", "Agreement confirmed by the court", "the court seized",
      {"caseNumber": ref("documentNumber"), "confirmedOn": ref("date")}, {},
      valid=[{"caseNumber": "（2025）湘02民特7号", "confirmedOn": "2025-08-01"}], invalid=[({"caseNumber": "x"}, "date missing")])
event("compensation", "suit-filed", "提起生态环境损害赔偿诉讼", "Compensation suit filed", "the claimant department",
      {"court": ref("agencyId"), "consultationFailedEventId": ref("eventId")}, {"attachments": ref("attachments")},
      valid=[{"court": "zz-court", "consultationFailedEventId": "9b2f8e1c-4d5a-4e6b-8c7d-1a2b3c4d5e6f"}],
      invalid=[({"court": "zz-court"}, "proof of failed consultation missing")])

# --- hub -----------------------------------------------------------------------------------------------------------
event("hub", "receipt", "处理回执", "Receipt: the hub accepted or refused an event", "the hub",
      {"eventId": {"type": "string", "minLength": 1, "maxLength": 64}, "recipient": ref("agencyId"),
       "outcome": {"type": "string", "enum": ["accepted", "refused"]}},
      {"code": {"type": "string", "maxLength": 100}, "reason": {"type": "string", "maxLength": 4000},
       "reasonZH": {"type": "string", "maxLength": 4000}, "caseVersion": {"type": "integer", "minimum": 1},
       "violations": {"type": "array", "maxItems": 200, "items": {
           "type": "object", "required": ["path", "rule", "message"], "additionalProperties": False,
           "properties": {"path": {"type": "string", "maxLength": 1000}, "rule": {"type": "string", "maxLength": 100},
                          "message": {"type": "string", "maxLength": 2000}}}}},
      valid=[{"eventId": "0b7e4c1a-3f7e-4c44-9a55-1f0c2f1e9d10", "recipient": "zz-epb", "outcome": "refused", "code": "sender.mismatch", "reason": "…"}],
      invalid=[({"eventId": "x", "recipient": "zz-epb", "outcome": "maybe"}, "outcome not in the enum")])
event("hub", "served", "送达记录", "Service recorded: the hub delivered a document into the served agency's inbox, and the clocks that run from its receipt started",
      "the hub",
      {"servedEventId": ref("eventId"), "servedAgency": ref("agencyId"), "servedAt": ref("dateTime"),
       "channel": {"type": "string", "enum": ["inbox"]}},
      {"deadlines": {"type": "array", "maxItems": 20, "items": {
          "type": "object", "required": ["rule", "dueAt"], "additionalProperties": False,
          "properties": {"rule": {"type": "string", "minLength": 1, "maxLength": 100}, "dueAt": ref("dateTime")}}}},
      valid=[{"servedEventId": "9b2f8e1c-4d5a-4e6b-8c7d-1a2b3c4d5e6f", "servedAgency": "zz-epb", "servedAt": "2026-03-02T09:00:01+08:00",
              "channel": "inbox", "deadlines": [{"rule": "pil.reply", "dueAt": "2026-05-02T16:00:00Z"}]}],
      invalid=[({"servedEventId": "9b2f8e1c-4d5a-4e6b-8c7d-1a2b3c4d5e6f", "servedAgency": "zz-epb", "channel": "inbox"}, "servedAt missing")])
DEADLINE_NOTICE = {"deadlineId": {"type": "string", "minLength": 1, "maxLength": 200}, "rule": {"type": "string", "minLength": 1, "maxLength": 100},
                   "legalBasis": ref("text"), "dueAt": ref("dateTime"), "obligedAgency": ref("agencyId")}
event("hub", "deadline-warning", "期限即将届满提醒", "Deadline approaching", "the hub", DEADLINE_NOTICE, {},
      valid=[{"deadlineId": "case-1:pil.reply", "rule": "pil.reply", "legalBasis": "最高法最高检检察公益诉讼解释第21条",
              "dueAt": "2025-05-12T16:00:00Z", "obligedAgency": "zz-epb-tianyuan"}],
      invalid=[({"deadlineId": "x", "rule": "y", "legalBasis": "z", "dueAt": "soon", "obligedAgency": "zz-epb"}, "dueAt not a date-time")])
event("hub", "deadline-overdue", "期限已届满未履行", "Deadline overdue", "the hub", DEADLINE_NOTICE, {},
      valid=[{"deadlineId": "case-1:pil.reply", "rule": "pil.reply", "legalBasis": "最高法最高检检察公益诉讼解释第21条",
              "dueAt": "2025-05-12T16:00:00Z", "obligedAgency": "zz-epb-tianyuan"}],
      invalid=[({"deadlineId": "x", "rule": "y", "legalBasis": "z", "dueAt": "2025-05-12T16:00:00Z"}, "obliged agency missing")])
