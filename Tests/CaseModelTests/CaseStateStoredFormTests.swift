import CaseModel
import Foundation
import Testing

/// The stored form of case states is written and read by hand; it must be
/// the shape `Codable` gives the same types, so that rows written by either
/// read back the same.
struct CaseStateStoredFormTests {
    /// States from random walks through every procedure: deadlines running,
    /// met and stopped, facts, links, numbers and parties of all kinds.
    /// Walks do not set titles (events do not carry them), so some states get one.
    static let states: [CaseState] = {
        let walked = (UInt64(1)...80).flatMap { RandomSequenceTests.walk(seed: $0, steps: 40).states }
        return walked + walked.prefix(100).map { state in
            var titled = state
            titled.title = "湘江“非法排污”案 / \\ \u{1}"
            return titled
        }
    }()

    static func codableForm(_ state: CaseState) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return try JSONValue.parse(Array(try encoder.encode(state)))
    }

    @Test func theStoredFormIsWhatCodableWrites() throws {
        #expect(Self.states.count > 1_000)
        #expect(Self.states.contains { !$0.deadlines.isEmpty && !$0.links.isEmpty && !$0.numbers.isEmpty })
        #expect(Self.states.contains { $0.deadlines.values.contains { $0.closedAt != nil } && $0.facts.recommendationEventID != nil })
        for state in Self.states {
            #expect(try JSONValue.parse(Array(state.encoded().utf8)).canonicalString == Self.codableForm(state).canonicalString, "\(state.caseID) v\(state.version)")
        }
    }

    @Test func statesReadBackEqualWhicheverWroteThem() throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        for state in Self.states {
            #expect(try CaseState.decoded(state.encoded()) == state)
            #expect(try CaseState.decoded(Self.codableForm(state).canonicalString) == state)
            #expect(try decoder.decode(CaseState.self, from: Data(state.encoded().utf8)) == state)
        }
    }

    @Test func aMalformedStateNamesWhereItIsWrong() throws {
        guard case .object(var members) = Self.states.first(where: { !$0.deadlines.isEmpty })!.storedJSON,
              case .object(var deadlines) = members["deadlines"]!, let id = deadlines.keys.sorted().first,
              case .object(var deadline) = deadlines[id]! else {
            Issue.record("no deadline to break")
            return
        }
        deadline["dueAt"] = .string("tomorrow")
        deadlines[id] = .object(deadline)
        members["deadlines"] = .object(deadlines)
        #expect {
            try CaseState.decoded(JSONValue.object(members).canonicalString)
        } throws: { error in
            "\(error)" == "stored case state: deadline/dueAt is not milliseconds since 1970"
        }
    }
}
