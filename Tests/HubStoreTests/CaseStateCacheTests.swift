import CaseModel
import Foundation
import HubStore
import Logging
import Postgres
import TestSupport
import Testing

/// A batch takes a case it committed itself from a cache instead of decoding
/// the stored JSON, but only while the row is the one it wrote: any other
/// write (another hub's event, a link mirrored without a new case version)
/// sends it back to the database.
@Suite struct CaseStateCacheTests {
    let logger = Logger(label: "test.cache")

    @Test func aCachedStateServesOnlyWhileItsRowIsUnchanged() async throws {
        let client = PostgresClient(configuration: PostgresConfiguration(connectionString: try await TestDatabase.create("cache")), logger: logger)
        defer { Task { await client.shutdown() } }
        _ = try await Migrator(client: client, logger: logger).migrate()
        let store = HubStore(client: client)
        let event = CloudEvent(source: "zz-epb", type: .referralSubmitted, time: Date(timeIntervalSince1970: 1_764_000_000), subject: "zz-epb:cache-1",
                               data: ["receiver": "zz-procuratorate", "referralKind": "clue", "summary": "线索"])
        guard case .success(let opened) = CaseMachine(registry: .zhuzhou).apply(event, by: AgencyRegistry.zhuzhou["zz-epb"]!, at: Date(), to: nil) else {
            Issue.record("the referral was refused")
            return
        }
        let (_, written) = try await store.withTransactionWritten { transaction in transaction.saveCase(opened.state) }
        let cached = try #require(written["zz-epb:cache-1"])
        #expect(cached.state == opened.state)

        // Unchanged since: served from the cache, nothing decoded.
        let (fromCache, read) = try await store.withTransaction { transaction in
            (try await transaction.lockCases(["zz-epb:cache-1"], cached: written), transaction.statesRead)
        }
        #expect(fromCache["zz-epb:cache-1"] == opened.state && read == 0)

        // Written by someone else, same case version (a mirrored link): read again.
        var linked = opened.state
        linked.links.append(CaseLink(caseID: "cache-2", relation: "same-act"))
        try await store.withTransaction { transaction in transaction.saveCase(linked) }
        let (fromDatabase, readAgain) = try await store.withTransaction { transaction in
            (try await transaction.lockCases(["zz-epb:cache-1", "cache-missing"], cached: written), transaction.statesRead)
        }
        #expect(fromDatabase["zz-epb:cache-1"]?.links == linked.links && readAgain == 1)
        #expect(fromDatabase["cache-missing"] == nil)
    }
}
