import Foundation
public import KubeAPI
public import Logging

/// Answers AdmissionReviews for every Hadron kind: decodes the object (and the old one on UPDATE), runs the
/// kind's validator and turns its findings into the response.
///
/// Only spec writes are judged. Writes to the status subresource come from the operator itself and are allowed
/// untouched (the webhook configuration should not even send them), as are DELETE and CONNECT.
public struct AdmissionReviewer: Sendable {
    /// Reads the HadronCluster a Stream names (namespace, name).
    public typealias ClusterSource = @Sendable (_ namespace: String, _ name: String) async -> ClusterLookup

    private let clusters: ClusterSource
    private let logger: Logger

    public init(clusters: @escaping ClusterSource, logger: Logger) {
        self.clusters = clusters
        self.logger = logger
    }

    /// Looks clusters up through the API server.
    public init(client: KubeClient, logger: Logger) {
        self.init(
            clusters: { namespace, name in
                do {
                    return .found(try await client.get(HadronCluster.self, name: name, namespace: namespace))
                } catch let error as KubeAPIError where error.isNotFound {
                    return .notFound
                } catch {
                    return .unavailable("\(error)")
                }
            }, logger: logger)
    }

    /// Why a request body is not an AdmissionReview this webhook can answer (HTTP 400).
    public struct MalformedReview: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses the body the API server POSTs.
    public static func decodeRequest(_ body: some Collection<UInt8>) throws -> AdmissionReview.Request {
        let review: AdmissionReview
        do {
            review = try JSONDecoder().decode(AdmissionReview.self, from: Data(body))
        } catch let error as DecodingError {
            throw MalformedReview(description: "not an AdmissionReview: \(DecodingProblem.describe(error))")
        } catch {
            throw MalformedReview(description: "not an AdmissionReview: the body is not JSON")
        }
        guard review.apiVersion == AdmissionReview.apiVersion, review.kind == AdmissionReview.kind else {
            throw MalformedReview(
                description: "expected apiVersion \(AdmissionReview.apiVersion), kind \(AdmissionReview.kind); got "
                    + "\(review.apiVersion), \(review.kind)")
        }
        guard let request = review.request, !request.uid.isEmpty else {
            throw MalformedReview(description: "the AdmissionReview has no request with a uid")
        }
        return request
    }

    public func review(_ request: AdmissionReview.Request) async -> AdmissionReview.Response {
        let allowed = AdmissionReview.Response(uid: request.uid, allowed: true)
        guard request.operation == "CREATE" || request.operation == "UPDATE" else { return allowed }
        guard (request.subResource ?? "").isEmpty else { return allowed }
        guard request.kind.group == HadronCluster.descriptor.group else {
            logger.warning(
                "Admission review for a kind this webhook does not validate; allowed",
                metadata: ["kind": "\(request.kind.group)/\(request.kind.kind)"])
            return allowed
        }
        let findings: AdmissionFindings
        do {
            findings = try await validate(request)
        } catch let problem as ObjectProblem {
            return AdmissionReview.Response(
                uid: request.uid, allowed: false,
                status: KubeStatus(message: problem.message, reason: "BadRequest", code: 400))
        } catch {
            return AdmissionReview.Response(
                uid: request.uid, allowed: false,
                status: KubeStatus(message: "\(error)", reason: "BadRequest", code: 400))
        }
        let warnings = findings.warnings.isEmpty ? nil : findings.warnings
        guard findings.isAllowed else {
            logger.info(
                "Admission denied",
                metadata: [
                    "kind": "\(request.kind.kind)", "name": "\(request.namespace ?? "")/\(request.name ?? "")",
                    "operation": "\(request.operation)", "reason": "\(findings.message)",
                ])
            return AdmissionReview.Response(
                uid: request.uid, allowed: false,
                status: KubeStatus(message: findings.message, reason: "Invalid", code: 422), warnings: warnings)
        }
        return AdmissionReview.Response(uid: request.uid, allowed: true, warnings: warnings)
    }

    private func validate(_ request: AdmissionReview.Request) async throws -> AdmissionFindings {
        let isUpdate = request.operation == "UPDATE"
        switch request.kind.kind {
        case HadronCluster.descriptor.kind:
            let (object, old) = try Self.objects(HadronCluster.self, request, isUpdate)
            return ClusterAdmission.validate(object, old: old)
        case HadronStream.descriptor.kind:
            let (object, old) = try Self.objects(HadronStream.self, request, isUpdate)
            var lookup = ClusterLookup.notFound
            if let cluster = object.spec?.cluster, ClusterNames.isValidServiceName(cluster) {
                let namespace = request.namespace ?? object.metadata.namespace ?? ""
                lookup = await clusters(namespace, cluster)
            }
            return StreamAdmission.validate(object, old: old, cluster: lookup)
        case HadronSubscription.descriptor.kind:
            let (object, old) = try Self.objects(HadronSubscription.self, request, isUpdate)
            return SubscriptionAdmission.validate(object, old: old)
        case HadronExchange.descriptor.kind:
            let (object, old) = try Self.objects(HadronExchange.self, request, isUpdate)
            return ExchangeAdmission.validate(object, old: old)
        case HadronEndpoint.descriptor.kind:
            let (object, old) = try Self.objects(HadronEndpoint.self, request, isUpdate)
            return EndpointAdmission.validate(object, old: old)
        case HadronPipeline.descriptor.kind:
            let (object, old) = try Self.objects(HadronPipeline.self, request, isUpdate)
            return PipelineAdmission.validate(object, old: old)
        case HadronAuthGrant.descriptor.kind:
            let (object, old) = try Self.objects(HadronAuthGrant.self, request, isUpdate)
            return AuthGrantAdmission.validate(object, old: old)
        default:
            logger.warning(
                "Admission review for an unknown Hadron kind; allowed", metadata: ["kind": "\(request.kind.kind)"])
            return AdmissionFindings()
        }
    }

    /// An object in the review that does not decode as its kind (the CRD schema should have caught it).
    struct ObjectProblem: Error {
        let message: String
    }

    private static func objects<R: KubeResource>(
        _ type: R.Type, _ request: AdmissionReview.Request, _ isUpdate: Bool
    ) throws -> (R, R?) {
        guard let object = request.object else {
            throw ObjectProblem(message: "the AdmissionReview request carries no object")
        }
        let decoded = try decode(R.self, object, what: "the \(R.descriptor.kind)")
        guard isUpdate, let oldObject = request.oldObject else { return (decoded, nil) }
        return (decoded, try decode(R.self, oldObject, what: "the existing \(R.descriptor.kind)"))
    }

    private static func decode<R: KubeResource>(_ type: R.Type, _ value: JSONValue, what: String) throws -> R {
        do {
            return try value.decode(R.self)
        } catch let error as DecodingError {
            throw ObjectProblem(message: "\(what) cannot be read: \(DecodingProblem.describe(error))")
        }
    }
}

/// A `DecodingError` as a field path and what was wrong there.
enum DecodingProblem {
    static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text.isEmpty ? "(document)" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])) is required"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)) must be \(describe(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)) must be \(describe(type)), not null"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is Int.Type, is Double.Type: return "a number"
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        default: return type is any Collection.Type ? "a list" : "an object"
        }
    }
}
