/// Fields of an event's data named by JSON pointers (`/suspects/*/name`:
/// `*` is every item of an array), as a tree: what an allow-list keeps, or
/// what a deny-list takes out.
public struct FieldSelection: Sendable, Hashable {
    indirect enum Node: Sendable, Hashable {
        /// The value at this point, whole.
        case whole
        /// These members of an object.
        case members([String: Node])
        /// The same selection in every item of an array.
        case items(Node)
    }

    let root: [String: Node]

    /// Nothing selected.
    public static let empty = FieldSelection(root: [:])

    init(root: [String: Node]) {
        self.root = root
    }

    public struct PointerError: Error, Sendable, CustomStringConvertible {
        public let pointer: String
        public var description: String { "'\(pointer)' is not a field pointer (/name, /list/*/name)" }
    }

    /// The fields named by `pointers`; a pointer inside one already named whole adds nothing.
    public init(pointers: [String]) throws(PointerError) {
        var root: [String: Node] = [:]
        for pointer in pointers {
            let tokens = pointer.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
            guard pointer.hasPrefix("/"), let first = tokens.first, first != "*", !tokens.contains("") else { throw PointerError(pointer: pointer) }
            root[first] = Self.merge(root[first], Self.path(Array(tokens.dropFirst())))
        }
        self.root = root
    }

    private static func path(_ tokens: [String]) -> Node {
        guard let first = tokens.first else { return .whole }
        let rest = path(Array(tokens.dropFirst()))
        return first == "*" ? .items(rest) : .members([first: rest])
    }

    private static func merge(_ a: Node?, _ b: Node) -> Node {
        switch (a, b) {
        case (nil, _): return b
        case (.whole?, _), (_, .whole): return .whole
        case (.members(let x)?, .members(let y)): return .members(x.merging(y) { merge($0, $1) })
        case (.items(let x)?, .items(let y)): return .items(merge(x, y))
        // An array and an object at the same place: a schema has one or the other; keep both whole rather than guess.
        default: return .whole
        }
    }

    /// Both selections.
    public func union(_ other: FieldSelection) -> FieldSelection {
        FieldSelection(root: root.merging(other.root) { Self.merge($0, $1) })
    }

    public var isEmpty: Bool { root.isEmpty }

    /// The top-level members it names.
    public var topLevelNames: [String] { root.keys.sorted() }

    /// Only the selected fields of `data` (an object; anything else gives `{}`).
    public func keeping(in data: JSONValue) -> JSONValue {
        Self.keep(data, .members(root)) ?? .object([:])
    }

    private static func keep(_ value: JSONValue, _ node: Node) -> JSONValue? {
        switch (node, value) {
        case (.whole, _): return value
        case (.members(let names), .object(let members)):
            var kept: [String: JSONValue] = [:]
            for (name, child) in names {
                if let member = members[name], let selected = keep(member, child) { kept[name] = selected }
            }
            return .object(kept)
        case (.items(let child), .array(let items)):
            return .array(items.compactMap { keep($0, child) })
        default:
            // Not the shape the pointer names: nothing of it is selected.
            return nil
        }
    }

    /// `data` without the selected fields; nil when none of them is there.
    public func removing(from data: JSONValue) -> JSONValue? {
        let (result, removed) = Self.remove(data, .members(root))
        // Not a ternary: there `nil` would be JSONValue's own (`.null`).
        guard removed else { return nil }
        return result
    }

    private static func remove(_ value: JSONValue, _ node: Node) -> (JSONValue, Bool) {
        switch (node, value) {
        case (.members(let names), .object(var members)):
            var removed = false
            for (name, child) in names {
                guard let member = members[name] else { continue }
                if case .whole = child {
                    members.removeValue(forKey: name)
                    removed = true
                } else {
                    let (rest, changed) = remove(member, child)
                    members[name] = rest
                    removed = removed || changed
                }
            }
            return (.object(members), removed)
        case (.items(let child), .array(let items)):
            var removed = false
            let rest = items.map { item -> JSONValue in
                let (kept, changed) = remove(item, child)
                removed = removed || changed
                return kept
            }
            return (.array(rest), removed)
        default:
            return (value, false)
        }
    }
}
