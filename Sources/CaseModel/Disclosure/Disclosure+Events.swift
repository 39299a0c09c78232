extension Disclosure {
    /// On a delivered or fed event whose data lacks fields the rule withheld: `partial`.
    public static let disclosureAttribute = "disclosure"
    /// On such an event: the id of the key its sender signed the whole event
    /// with (the hub verified it). The sender's own signature no longer
    /// covers what is delivered, so it is not passed on.
    public static let senderKeyAttribute = "senderkey"

    /// The event as `fields` lets its recipient have it: the event itself
    /// when it keeps every field it has.
    public static func applying(_ fields: FieldSet, to event: CloudEvent) -> CloudEvent {
        guard case .only(let selection) = fields else { return event }
        let kept = selection.keeping(in: event.data)
        return kept == event.data ? event : partial(event, data: kept)
    }

    /// The event as one of the hub's own topics carries it, without its
    /// type's personal data where the rule says so; nil when that is the event itself.
    public func forFeed(_ feed: Feed, _ event: CloudEvent) -> CloudEvent? {
        guard feedsWithholdingPersonal.contains(feed), let data = personal[event.type]?.removing(from: event.data) else { return nil }
        return Self.partial(event, data: data)
    }

    /// A record's value (an event's data, perhaps unreadable) as a feed
    /// carries it: nil when it stays as it is (nothing personal in it, or not
    /// a JSON document the rule can look into).
    public func forFeed(_ feed: Feed, value: [UInt8], of type: EventType) -> [UInt8]? {
        guard feedsWithholdingPersonal.contains(feed), let personal = personal[type],
              let data = try? JSONValue.parse(value), let rest = personal.removing(from: data) else { return nil }
        return rest.canonicalBytes
    }

    static func partial(_ event: CloudEvent, data: JSONValue) -> CloudEvent {
        var partial = event
        partial.data = data
        if let signature = partial.extensions.removeValue(forKey: EventSignature.attribute) {
            partial.extensions[senderKeyAttribute] = String(signature.prefix { $0 != ":" }.prefix(64))
        }
        partial.extensions[disclosureAttribute] = "partial"
        return partial
    }
}
