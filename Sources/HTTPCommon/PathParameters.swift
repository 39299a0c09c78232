public import Hummingbird
import Foundation

extension Parameters {
    /// A path parameter with its percent-encoding removed: a case id such as
    /// `zz-epb:2026-0001` arrives as `zz-epb%3A2026-0001` from a client that
    /// encodes it (browsers' `encodeURIComponent` do), and means the same.
    /// Hummingbird matches routes on the raw path and leaves this to the route.
    public func requireDecoded(_ name: String) throws -> String {
        let raw = try require(name)
        return raw.removingPercentEncoding ?? raw
    }
}
