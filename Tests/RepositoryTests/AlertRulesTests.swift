import Foundation
import Testing
import TestSupport

/// The alerting rules watch metrics that exist: a renamed metric must not
/// leave an alert that can never fire.
struct AlertRulesTests {
    @Test func everyMetricAnAlertWatchesIsServed() throws {
        let rules = try String(contentsOf: PackagePaths.root.appendingPathComponent("Deploy/prometheus/casehub-rules.yaml"), encoding: .utf8)
        let metrics = try String(contentsOf: PackagePaths.root.appendingPathComponent("Sources/CaseHubMetrics/CaseHubMetrics.swift"), encoding: .utf8)
        let served = Set(metrics.matches(of: try Regex(#"\.casehub\("(casehub_[a-z_]+)""#)).compactMap { $0.output[1].substring.map(String.init) })
        let expressions = rules.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces).hasPrefix("expr:") }
        let watched = Set(expressions.flatMap { line in
            line.matches(of: try! Regex(#"casehub_[a-z_]+"#)).map { String(line[$0.range]) }
        })
        #expect(!watched.isEmpty)
        #expect(watched.isSubset(of: served), "not served: \(watched.subtracting(served).sorted())")
    }
}
