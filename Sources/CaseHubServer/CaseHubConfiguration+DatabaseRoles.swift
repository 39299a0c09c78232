public import HubStore
import Postgres

extension CaseHubConfiguration {
    /// The connection string a part of this process uses: its role's, or
    /// ``databaseURL`` where none is set (then the part runs with the
    /// owner's privileges, and says so at start: ``CaseHubStack/checkReady(_:logger:)``).
    public func databaseURL(for role: DatabaseRole) -> String {
        switch role {
        case .hub: hubDatabaseURL ?? databaseURL
        case .adapter: adapterDatabaseURL ?? databaseURL
        case .admin: adminDatabaseURL ?? databaseURL
        }
    }

    /// Local mode (`casehub run`, the tests' stacks, where the roles log in
    /// themselves: ``DatabaseRole/allowLocalLogin(client:)``): every role's
    /// connection string not set is the owner's, as that role.
    public mutating func connectPartsAsTheirRoles() {
        hubDatabaseURL = hubDatabaseURL ?? PostgresConfiguration.connectionString(databaseURL, user: DatabaseRole.hub.rawValue)
        adapterDatabaseURL = adapterDatabaseURL ?? PostgresConfiguration.connectionString(databaseURL, user: DatabaseRole.adapter.rawValue)
        adminDatabaseURL = adminDatabaseURL ?? PostgresConfiguration.connectionString(databaseURL, user: DatabaseRole.admin.rawValue)
    }
}
