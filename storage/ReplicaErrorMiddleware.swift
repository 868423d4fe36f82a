import HTTPTypes
import HadronHTTP
import Hummingbird
import Logging

/// Turns a replica's refusal into the internal API's problem+json answer (docs/internal-api.md): the status and
/// the members (`epoch`, `leader`, `firstOffset`) callers act on. Anything else that escapes a handler and is not an
/// HTTP error already becomes a 500 that says what failed, rather than Hummingbird's empty one.
struct ReplicaErrorMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            // Problem details among them: Hummingbird writes them as they are.
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return try Self.problem(forAny: error, path: request.uri.path, logger: context.logger)
                .response(from: request, context: context)
        }
    }

    /// The answer to anything a handler threw: a problem as it is, a replica's refusal by ``problem(for:)``, and
    /// anything else a 500 that says what failed. Server errors are logged.
    static func problem(forAny error: any Error, path: String, logger: Logger) -> ProblemDetails {
        let problem: ProblemDetails
        switch error {
        case let details as ProblemDetails: return details
        case let refusal as ReplicaError: problem = Self.problem(for: refusal)
        default: problem = ProblemDetails(.internalServerError, "\(error)")
        }
        if problem.status.kind == .serverError {
            logger.error(
                "Storage request failed",
                metadata: ["path": "\(path)", "status": "\(problem.status.code)", "error": "\(error)"])
        }
        return problem
    }

    static func problem(for error: ReplicaError) -> ProblemDetails {
        if error.isNotLeader {
            return ProblemDetails(
                .misdirectedRequest, error.message,
                members: [
                    "epoch": .integer(Int64(error.epoch ?? 0)),
                    "leader": error.leader.map(ProblemValue.string) ?? .null,
                ])
        }
        if error.isFenced {
            return ProblemDetails(.conflict, error.message, members: ["epoch": .integer(Int64(error.epoch ?? 0))])
        }
        if error.isOffsetBelowStart {
            return ProblemDetails(
                .rangeNotSatisfiable, error.message, members: ["firstOffset": .integer(error.firstOffset ?? 0)])
        }
        if error.isDivergent {
            return ProblemDetails(
                .rangeNotSatisfiable, error.message, members: ["logEndOffset": .integer(error.logEndOffset ?? 0)])
        }
        if error.isInvalidRequest { return ProblemDetails(.badRequest, error.message) }
        if error.isOutOfSequence { return ProblemDetails(.unprocessableContent, error.message) }
        if error.isStaleDelivery { return ProblemDetails(.conflict, error.message) }
        if error.isUnavailable {
            return ProblemDetails(.serviceUnavailable, error.message, headers: [.retryAfter: "1"])
        }
        return ProblemDetails(.internalServerError, error.message)
    }
}
