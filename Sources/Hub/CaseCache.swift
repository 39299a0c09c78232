import CaseModel

/// A batch's cases as the state machine moves them, saved together at the
/// end of the batch's transaction.
struct CaseCache {
    private var states: [String: CaseState]
    /// Ids looked up in the database (found or not).
    private var looked: Set<String>
    private var changedIDs: [String] = []
    private var changedSet = Set<String>()

    /// Starts from the cases the batch locked.
    init(_ locked: [String: CaseState]) {
        states = locked
        looked = Set(locked.keys)
    }

    /// Changed cases, in the order they first changed.
    var changed: [CaseState] { changedIDs.map { states[$0]! } }

    /// Whether the case was looked up already, found or not.
    func contains(_ id: String) -> Bool { looked.contains(id) || states[id] != nil }

    subscript(id: String) -> CaseState? { states[id] }

    /// A case locked on demand (one named by a link).
    mutating func noteLoaded(_ id: String, _ state: CaseState?) {
        looked.insert(id)
        if let state { states[id] = state }
    }

    mutating func update(_ state: CaseState) {
        if changedSet.insert(state.caseID).inserted { changedIDs.append(state.caseID) }
        states[state.caseID] = state
    }
}
