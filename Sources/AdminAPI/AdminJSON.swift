public import CaseModel
public import Foundation
public import HubStore

/// The JSON of the administrators' API (and of the command line's `--json`),
/// built from ``AdminQueries``' rows. Member names, value types and nulls are
/// the contract of `Schemas/openapi.yaml`.
public enum AdminJSON {
    /// An instant as the admin API writes it (``RFC3339/formatMicroseconds(_:)``).
    public static func timestamp(_ date: Date) -> JSONValue {
        .string(RFC3339.formatMicroseconds(date))
    }

    static func timestamp(_ date: Date?) -> JSONValue {
        date.map(timestamp) ?? .null
    }

    static func text(_ value: String?) -> JSONValue {
        value.map(JSONValue.string) ?? .null
    }

    /// `GET /v1/cases`: one item.
    public static func caseSummary(_ item: AdminQueries.CaseSummary) -> JSONValue {
        .object([
            "caseId": .string(item.id), "procedure": .string(item.procedure), "status": .string(item.status),
            "title": text(item.title), "holder": text(item.holder),
            "parties": .array(item.parties.map(JSONValue.string)), "numbers": .object(item.numbers.mapValues(JSONValue.string)),
            "version": .integer(item.version), "openedAt": timestamp(item.openedAt), "updatedAt": timestamp(item.updatedAt),
            "overdueDeadlines": .integer(item.overdueDeadlines),
        ])
    }

    /// `GET /v1/cases/{id}`.
    public static func caseRecord(_ record: AdminQueries.CaseRecord, asOf: Date = Date()) -> JSONValue {
        .object([
            "caseId": .string(record.id), "procedure": .string(record.procedure), "status": .string(record.status),
            "title": text(record.title), "holder": text(record.holder),
            "parties": .array(record.parties.map(JSONValue.string)), "roles": record.roles,
            "numbers": .object(record.numbers.mapValues(JSONValue.string)),
            "version": .integer(record.version), "openedAt": timestamp(record.openedAt), "updatedAt": timestamp(record.updatedAt),
            "links": record.links,
            "deadlines": .array(record.deadlines.map { $0.json(asOf: asOf) }),
        ])
    }

    /// `GET /v1/cases/{id}/events`: the trail.
    public static func auditTrail(_ entries: [AdminQueries.AuditEntry]) -> JSONValue {
        .array(entries.map { entry in
            .object([
                "seq": .integer(entry.seq), "eventId": text(entry.eventID), "outcome": .string(entry.outcome),
                "type": .string(entry.type), "source": .string(entry.source),
                "occurredAt": timestamp(entry.occurredAt), "recordedAt": timestamp(entry.recordedAt),
                "caseVersion": entry.caseVersion.map(JSONValue.integer) ?? .null, "body": entry.body,
                "hash": .string(entry.hash.map { String(format: "%02x", $0) }.joined()),
            ])
        })
    }

    /// `GET /v1/deadlines`: the list.
    public static func dueDeadlines(_ items: [AdminQueries.DueDeadline]) -> JSONValue {
        .array(items.map { item in
            .object([
                "caseId": .string(item.caseID), "rule": .string(item.rule), "procedure": .string(item.procedure),
                "title": text(item.title), "holder": text(item.holder),
                "obligedAgency": .string(item.obligedAgency), "legalBasis": .string(item.legalBasis),
                "warnAt": timestamp(item.warnAt), "dueAt": timestamp(item.dueAt),
                "dueDate": .string(StatutoryDeadline.lastDay(dueAt: item.dueAt).description),
                "stage": .string(item.stage.rawValue), "noticeSent": .bool(item.noticeSent),
            ])
        })
    }

    /// `GET /v1/flows`: deliveries.
    public static func deliveryFlows(_ flows: [AdminQueries.DeliveryFlow]) -> JSONValue {
        .array(flows.map { flow in
            .object([
                "bucket": timestamp(flow.bucket), "sender": text(flow.sender), "receiver": .string(flow.receiver),
                "type": .string(flow.type), "count": .integer(flow.count),
                "latencyP50Seconds": flow.latencyP50Seconds.map(JSONValue.number) ?? .null,
                "latencyP99Seconds": flow.latencyP99Seconds.map(JSONValue.number) ?? .null,
            ])
        })
    }

    /// `GET /v1/flows`: refusals.
    public static func refusalFlows(_ flows: [AdminQueries.RefusalFlow]) -> JSONValue {
        .array(flows.map { flow in
            .object(["bucket": timestamp(flow.bucket), "sender": text(flow.sender), "code": .string(flow.code), "count": .integer(flow.count)])
        })
    }

    /// One agency's activity, as ``AgencyListing`` merges it into the registry's entry.
    public static func activity(_ activity: AdminQueries.AgencyActivity) -> JSONValue {
        .object([
            "tokens": .integer(activity.tokens), "keys": .integer(activity.keys), "accepted": .integer(activity.accepted),
            "refused": .integer(activity.refused), "lastEventAt": timestamp(activity.lastEventAt),
        ])
    }

    /// `GET /v1/overview`.
    public static func overview(_ overview: AdminQueries.Overview) -> JSONValue {
        .object([
            "outboxBacklog": .integer(overview.outboxBacklog),
            "oldestUnsentSeconds": overview.oldestUnsentSeconds.map(JSONValue.number) ?? .null,
            "outboxParked": .integer(overview.outboxParked),
            "cases": .integer(overview.cases), "casesByStatus": .object(overview.casesByStatus.mapValues(JSONValue.integer)),
            "events": .integer(overview.events), "rejections": .integer(overview.rejections),
            "rejectionsNotReplayed": .integer(overview.rejectionsNotReplayed),
            "unacknowledgedDeliveries": .integer(overview.unacknowledgedDeliveries),
            "deadlines": .object(overview.deadlines.mapValues { .integer(Int64($0)) }),
        ])
    }

    /// `GET /v1/outbox/parked`.
    public static func parkedRecords(_ records: [HubStore.ParkedOutboxRecord]) -> JSONValue {
        .array(records.map { record in
            .object([
                "record": .string(record.position.description), "topic": .string(record.topic), "orderingKey": .string(record.orderingKey),
                "eventId": text(record.eventID), "type": text(record.type), "caseId": text(record.caseID),
                "size": .integer(Int64(record.size)), "reason": .string(record.reason), "attempts": .integer(Int64(record.attempts)),
                "parkedAt": timestamp(record.parkedAt), "waitsBehind": text(record.waitsBehind?.description),
                "releaseRequested": .bool(record.releaseRequested),
            ])
        })
    }

    /// `GET /v1/rejections`: the page.
    public static func rejections(_ page: [AdminQueries.Rejection]) -> JSONValue {
        .array(page.map { item in
            .object([
                "id": .integer(item.id), "stage": .string(item.stage.rawValue), "eventId": text(item.eventID), "source": text(item.source),
                "claimedAgency": text(item.claimedAgency), "tokenId": text(item.tokenID), "tokenLabel": text(item.tokenLabel),
                "request": text(item.request), "httpStatus": item.httpStatus.map { .integer(Int64($0)) } ?? .null,
                "topic": text(item.topic), "caseId": text(item.caseID), "type": text(item.type),
                "code": .string(item.code), "meaning": meaning(of: item.code), "reason": .string(item.reason),
                "violations": item.violations, "bodySize": item.bodySize.map(JSONValue.integer) ?? .null,
                "bodySha256": text(item.bodySHA256.map { $0.map { String(format: "%02x", $0) }.joined() }), "bodyStored": .bool(item.bodyStored),
                "receivedAt": timestamp(item.receivedAt), "replayedAt": timestamp(item.replayedAt),
                "replayReason": text(item.replayReason), "replayedBy": text(item.replayedBy),
            ])
        })
    }

    /// What a catalogued refusal code means, in Chinese and English; null for one the catalogue does not know.
    static func meaning(of code: String) -> JSONValue {
        guard let meaning = RefusalCode.catalogued[RefusalCode(rawValue: code)] else { return .null }
        return .object(["zh": .string(meaning.zh), "en": .string(meaning.en)])
    }
}

/// The command line's reads (`casehub cases`, `deadlines`, `rejections`,
/// `flows`, `agencies list`) in the admin API's JSON, so that `--json` and
/// the API answer alike.
extension AdminQueries {
    public func cases(_ filter: CaseFilter) async throws -> JSONValue {
        .array(try await casePage(filter).map(AdminJSON.caseSummary))
    }

    public func caseDetail(_ id: String) async throws -> JSONValue? {
        try await caseRecord(id).map { AdminJSON.caseRecord($0) }
    }

    public func caseEvents(_ id: String) async throws -> JSONValue {
        AdminJSON.auditTrail(try await auditTrail(id))
    }

    public func deadlines(stage: DeadlineStage?, agency: String?, procedure: String?, asOf: Date, limit: Int = 500) async throws -> JSONValue {
        AdminJSON.dueDeadlines(try await dueDeadlines(stage: stage, agency: agency, procedure: procedure, asOf: asOf, limit: limit))
    }

    /// `{"deliveries": [...], "refusals": [...]}`.
    public func flows(since: Date, until: Date, bucketSeconds: Int) async throws -> JSONValue {
        .object([
            "deliveries": AdminJSON.deliveryFlows(try await deliveryFlows(since: since, until: until, bucketSeconds: bucketSeconds)),
            "refusals": AdminJSON.refusalFlows(try await refusalFlows(since: since, until: until, bucketSeconds: bucketSeconds)),
        ])
    }

    /// Per agency id, for ``AgencyListing/json(registry:activity:served:)``.
    public func agencyActivity() async throws -> [String: JSONValue] {
        try await activityByAgency().mapValues(AdminJSON.activity)
    }

    public func rejections(_ filter: RejectionFilter) async throws -> JSONValue {
        AdminJSON.rejections(try await rejectionPage(filter))
    }
}
