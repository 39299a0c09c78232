import CaseModel
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads one native record: a JSON object, or a flat XML element whose
/// children are the fields (`<record><AH>…</AH><LARQ>…</LARQ></record>`), as
/// court systems export them. Fields become strings (XML) or stay as sent (JSON).
enum NativeRecordReader {
    static func json(_ value: JSONValue) throws(NativeRecordError) -> [String: JSONValue] {
        guard case .object(let members) = value else {
            throw NativeRecordError(violations: [Violation(path: "", rule: "type", message: "a native record is a JSON object")])
        }
        return members
    }

    static func xml(_ bytes: [UInt8]) throws(NativeRecordError) -> [String: JSONValue] {
        let parser = XMLParser(data: Data(bytes))
        // No DTDs or external entities from agencies' files.
        parser.shouldResolveExternalEntities = false
        let reader = FlatRecordReader()
        parser.delegate = reader
        guard parser.parse(), reader.problem == nil else {
            let reason = reader.problem ?? parser.parserError.map { "\($0.localizedDescription)" } ?? "unreadable XML"
            throw NativeRecordError(violations: [Violation(
                path: "", rule: "xml", message: "malformed XML record at line \(parser.lineNumber): \(reason)")])
        }
        return reader.fields.mapValues(JSONValue.string)
    }

    private final class FlatRecordReader: NSObject, XMLParserDelegate {
        var fields: [String: String] = [:]
        var problem: String?
        private var depth = 0
        private var current: String?
        private var text = ""

        func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            depth += 1
            if depth == 2 {
                current = elementName
                text = ""
            } else if depth > 2 {
                problem = "element <\(elementName)> is nested inside a field; records are flat"
                parser.abortParsing()
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if depth == 2 { text += string }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            if depth == 2, let current, current != elementName {
                problem = "<\(current)> is closed by </\(elementName)>"
                parser.abortParsing()
                return
            }
            if depth == 2, let current {
                if fields[current] != nil {
                    problem = "field <\(current)> appears twice"
                    parser.abortParsing()
                }
                fields[current] = text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            depth -= 1
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            if problem == nil { problem = "\(parseError.localizedDescription)" }
        }

        func parserDidEndDocument(_ parser: XMLParser) {
            if depth != 0 && problem == nil { problem = "the record is not closed" }
        }

        func parser(_ parser: XMLParser, foundCDATA block: Data) {
            if depth == 2 { text += String(decoding: block, as: UTF8.self) }
        }
    }
}
