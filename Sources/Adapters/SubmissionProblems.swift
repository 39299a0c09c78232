import CaseModel
public import HTTPCommon
import Hummingbird

extension ProblemDetails {
    /// The problem document for a refused submission: the one place where a
    /// ``SubmissionError`` gets an HTTP status and a title. The detail is the
    /// error's own sentence and the violations its own.
    ///
    /// The file drop writes the same document beside a refused file
    /// (`<name>.problem.json`), so both transports explain a refusal alike.
    public init(_ error: SubmissionError) {
        let (status, title): (HTTPResponse.Status, String) = switch error {
        case .emptyBatch: (.unprocessableContent, "Empty batch")
        case .batchTooLarge: (.contentTooLarge, "Batch too large")
        case .stringTooLong: (.contentTooLarge, "String too long")
        case .unstorableText: (.unprocessableContent, "Unstorable text")
        case .bodyTooLarge: (.contentTooLarge, "Body too large")
        case .invalidEvents, .impersonation: (.unprocessableContent, "Invalid event")
        case .idReused: (.conflict, "Event id reused")
        case .noNativeMapping: (.notFound, "No native mapping")
        case .malformedJSON: (.badRequest, "Malformed JSON")
        case .malformedRecord(.xml, _): (.badRequest, "Malformed XML")
        case .malformedRecord(.json, _): (.badRequest, "Malformed record")
        case .invalidRecord, .invalidMappedEvent: (.unprocessableContent, "Invalid native record")
        case .hubUnavailable: (.serviceUnavailable, "Hub unavailable")
        case .fileTooLarge: (.contentTooLarge, "File too large")
        case .unsupportedFile: (.unsupportedMediaType, "Unsupported file")
        }
        self.init(status, title: title, detail: error.description, violations: error.violations)
    }
}

/// Renders a ``SubmissionError`` thrown below it as its problem document;
/// everything else passes through. On every agency route, so that handlers
/// need no catch of their own.
struct SubmissionProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as SubmissionError {
            throw ProblemDetails(error)
        }
    }
}
