public import CaseModel
public import Foundation

/// The mapping tables per agency kind: the built-in ones for the systems
/// Zhuzhou's agencies run, or a city's own from files.
///
/// The built-in tables are data, in `Native/Tables/<kind>.json` (resources of
/// this module; documented in docs/adapters/<kind>.md, with sample records in
/// Schemas/native/<kind>/):
/// - `court.json`: 审判流程管理系统 exports (XML, flat; pinyin initials as field names);
/// - `procuratorate.json`: 检察业务应用系统 exports (JSON; pinyin initials in lower case);
/// - `discipline-commission.json`: 纪检监察业务系统 exports (JSON);
/// - `environment-bureau.json`: 生态环境综合执法系统 exports (JSON, English-ish field names).
public struct NativeMappings: Sendable {
    public private(set) var byKind: [AgencyKind: NativeMapping]

    public subscript(kind: AgencyKind) -> NativeMapping? { byKind[kind] }

    /// Zhuzhou's tables.
    public static let standard: NativeMappings = {
        var byKind: [AgencyKind: NativeMapping] = [:]
        for kind in [AgencyKind.court, .procuratorate, .disciplineCommission, .environmentBureau] {
            // The built-in tables ship with the code: a missing or broken one is a programming error.
            do {
                guard let url = Bundle.module.url(forResource: kind.rawValue, withExtension: "json", subdirectory: "Tables") else {
                    throw NativeMapping.InvalidTable(description: "Tables/\(kind.rawValue).json is not in the module's resources")
                }
                let mapping = try NativeMapping(json: try JSONValue.parse(Array(try Data(contentsOf: url))))
                byKind[mapping.kind] = mapping
            } catch {
                preconditionFailure("the built-in native mapping for \(kind.rawValue) is invalid: \(error)")
            }
        }
        return NativeMappings(byKind: byKind)
    }()

    /// These tables with one replaced by a file's (a second city's dialect).
    public func replacing(withFile url: URL) throws -> NativeMappings {
        let data = try Data(contentsOf: url)
        let json: JSONValue
        do {
            json = try JSONValue.parse(Array(data))
        } catch {
            throw NativeMapping.InvalidTable(description: "\(url.path): \(error)")
        }
        do {
            let mapping = try NativeMapping(json: json)
            var copy = self
            copy.byKind[mapping.kind] = mapping
            return copy
        } catch let error as NativeMapping.InvalidTable {
            throw NativeMapping.InvalidTable(description: "\(url.path)\(error.description)")
        }
    }
}
