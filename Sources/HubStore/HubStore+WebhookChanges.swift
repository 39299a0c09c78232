import CaseModel
public import Foundation
import Postgres

extension HubStore {
    /// Moves up to `limit` recorded webhook changes (`webhook_changes`, filled
    /// by a trigger whoever changes `webhooks`) into the audit trail, oldest
    /// first, each one entry on its agency's chain as the change's own
    /// transaction once wrote it, now recorded at `instant`. The changes are
    /// taken out in the same transaction: each is audited once, whichever
    /// hub process gets it (a second waits for the first, then finds it
    /// gone). Returns how many were audited.
    @discardableResult
    public func auditWebhookChanges(limit: Int = 100, at instant: Date = Date()) async throws -> Int {
        try await withTransaction { transaction in
            let rows = try await transaction.connection.query("""
                DELETE FROM webhook_changes WHERE id IN (SELECT id FROM webhook_changes ORDER BY id LIMIT \(limit))
                RETURNING id, agency, action, url, secret_changed, replaced, actor::text AS actor, database_user, changed_at
                """)
            let changes = try rows.map { row in
                (id: try row.decode("id", as: Int64.self), row: row)
            }.sorted { $0.id < $1.id }
            for (_, row) in changes {
                let databaseUser: String = try row.decode("database_user")
                let named = try row.decode("actor", as: String?.self).flatMap { try? JSONValue.parse(Array($0.utf8)) }
                let actor = named.flatMap(AdministrativeActor.init(json:)) ?? AdministrativeActor(role: .database, name: databaseUser)
                let action: String = try row.decode("action")
                var details: [String: JSONValue] = [
                    "url": .string(WebhookStore.auditedAddress(try row.decode("url"))),
                    // Who made the change as far as the database knows: the role of the writing process.
                    "databaseUser": .string(databaseUser),
                ]
                if action == "set" {
                    details["secretChanged"] = .bool(try row.decode("secret_changed"))
                    details["replaced"] = .bool(try row.decode("replaced"))
                }
                transaction.appendAdministratorAction(
                    action == "set" ? .webhookSet : .webhookRemoved, concerningAgency: try row.decode("agency"),
                    by: actor, at: try row.decode("changed_at"), recordedAt: AuditEntry.storable(instant), details: details)
            }
            return changes.count
        }
    }
}
