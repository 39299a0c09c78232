public import CaseModel
public import HubStore

/// The registered agencies as the admin API and `casehub agencies list` show
/// them: who they are (from the registry) and what they do (from the database).
public enum AgencyListing {
    /// One object per registered agency, sorted by kind then id.
    /// `activity` is `AdminQueries.activityByAgency()`; `served` the agencies whose
    /// adapter runs in this process (nil when unknown, as in the CLI).
    public static func json(registry: AgencyRegistry, activity: [String: AdminQueries.AgencyActivity], served: Set<AgencyID>?) -> JSONValue {
        json(registry: registry, activity: activity.mapValues(AdminJSON.activity), served: served)
    }

    /// As above, with each agency's activity already in JSON (`AdminQueries.agencyActivity()`).
    public static func json(registry: AgencyRegistry, activity: [String: JSONValue], served: Set<AgencyID>?) -> JSONValue {
        let agencies = registry.all.sorted { ($0.kind.rawValue, $0.id) < ($1.kind.rawValue, $1.id) }
        return .array(agencies.map { agency in
            let figures = activity[agency.id.rawValue]
            var item: [String: JSONValue] = [
                "id": .string(agency.id.rawValue), "kind": .string(agency.kind.rawValue), "name": .string(agency.name),
                "level": .string(agency.level.rawValue), "divisionCode": .string(agency.divisionCode),
                "tokens": figures?["tokens"] ?? 0, "keys": figures?["keys"] ?? 0,
                "accepted": figures?["accepted"] ?? 0, "refused": figures?["refused"] ?? 0,
                "lastEventAt": figures?["lastEventAt"] ?? .null,
            ]
            if let parent = agency.parent { item["parent"] = .string(parent.rawValue) }
            if let served { item["adapterHere"] = .bool(served.contains(agency.id)) }
            return .object(item)
        })
    }
}
