public import KubeAPI
public import Logging

/// Confirms, right before a write that overrides another field manager, that this process still
/// holds the operator Lease (leader election gives no fencing: KUBE-API-FACTS.md).
public protocol LeadershipCheck: Sendable {
    func confirmLeadership() async -> Bool
}

extension LeaseElector: LeadershipCheck {}

/// What one `ObjectApplier.ensure` did.
public enum ApplyOutcome: Sendable, Equatable {
    /// The server already holds the desired fields: no request was written.
    case unchanged
    /// One apply brought the object in line (or created it).
    case applied
    /// Another manager owned a desired field; after the Lease check, a forced apply took it back.
    case retaken
}

/// A write the operator could not make.
public struct ApplyError: Error, CustomStringConvertible, Sendable {
    private enum Code: Sendable {
        case notLeading
    }

    private let code: Code
    public let message: String

    static func notLeading(_ key: ObjectKey) -> ApplyError {
        ApplyError(code: .notLeading, message: "\(key): not forcing the apply: this process no longer holds the Lease")
    }

    /// The Lease check before a forced apply failed: leader work is ending, nothing may be forced.
    public var isNotLeading: Bool { code == .notLeading }

    public var description: String { message }
}

/// The operator's write discipline (DESIGN.md §5): every write is a server-side apply by
/// `hadron-operator`, made only when the server does not already hold what the operator wants;
/// a conflict with another manager is re-read, then taken over with `force` once the Lease check
/// confirms this process still leads.
///
/// "Already holds" is decided without writing, in this order:
/// 1. the object is exactly as this applier's last apply of this same body left it (same
///    resourceVersion) — covers what the server normalizes or what other managers add besides;
/// 2. every field of the body has the same value on the server (the server's defaults and other
///    managers' fields may add more). A body carries the digest of itself in an annotation, so a
///    field the operator stopped sending — which a value comparison cannot see — changes the digest
///    and is applied, releasing it; a status body is compared whole, since the operator is the only
///    writer of its CRs' status.
/// The object is read from the informer cache first and, only when that disagrees, from the server,
/// so a cache that lags the operator's own last write causes no second write.
public actor ObjectApplier {
    private struct Applied {
        var body: JSONValue
        var resourceVersion: String
    }

    private let client: KubeClient
    private let leadership: any LeadershipCheck
    private let fieldManager: String
    private let logger: Logger
    private var applied: [ObjectKey: Applied] = [:]
    /// Write requests sent (applies, forced or not), for tests and metrics.
    public private(set) var writes = 0

    public init(client: KubeClient, leadership: any LeadershipCheck, fieldManager: String, logger: Logger) {
        self.client = client
        self.leadership = leadership
        self.fieldManager = fieldManager
        self.logger = logger
    }

    /// Makes the server hold `desired`; `cached` is the informer's copy of the object, if any.
    /// Returns the outcome and the object as the server now holds it (nil when unknown: unchanged
    /// and not cached).
    @discardableResult
    public func ensure(_ desired: DesiredObject, cached: JSONValue?) async throws -> (ApplyOutcome, JSONValue?) {
        let key = desired.key
        if let cached, isCurrent(desired, observed: cached) { return (.unchanged, cached) }
        let fresh = try await read(desired)
        if let fresh, isCurrent(desired, observed: fresh) {
            remember(desired, fresh)
            return (.unchanged, fresh)
        }
        do {
            let result = try await apply(desired, force: false)
            return (.applied, result)
        } catch let error as KubeAPIError where error.isConflict {
            logger.info(
                "Apply conflicts with another field manager; re-reading",
                metadata: [
                    "object": "\(key)",
                    "conflicts": "\(error.causes.map { "\($0.field ?? "?") (\($0.message ?? ""))" })",
                ])
            if let reread = try await read(desired), isCurrent(desired, observed: reread) {
                remember(desired, reread)
                return (.unchanged, reread)
            }
            guard await leadership.confirmLeadership() else { throw ApplyError.notLeading(key) }
            let result = try await apply(desired, force: true)
            logger.notice("Took fields back from another field manager", metadata: ["object": "\(key)"])
            return (.retaken, result)
        }
    }

    /// Forgets what was applied (a new term of leadership starts from what the server holds).
    public func reset() { applied.removeAll() }

    /// Forgets the objects of a deleted owner.
    public func forget(where matches: (ObjectKey) -> Bool) {
        applied = applied.filter { !matches($0.key) }
    }

    private func apply(_ desired: DesiredObject, force: Bool) async throws -> JSONValue {
        writes += 1
        let result = try await client.applyObject(
            desired.body, descriptor: desired.descriptor, fieldManager: fieldManager, force: force,
            subresource: desired.subresource)
        remember(desired, result)
        return result
    }

    private func read(_ desired: DesiredObject) async throws -> JSONValue? {
        do {
            return try await client.getObject(desired.descriptor, name: desired.name, namespace: desired.namespace)
        } catch let error as KubeAPIError where error.isNotFound {
            return nil
        }
    }

    private func remember(_ desired: DesiredObject, _ observed: JSONValue) {
        guard let version = observed[path: ["metadata", "resourceVersion"]]?.stringValue else { return }
        applied[desired.key] = Applied(body: desired.body, resourceVersion: version)
    }

    private func isCurrent(_ desired: DesiredObject, observed: JSONValue) -> Bool {
        if let last = applied[desired.key], last.body == desired.body,
            last.resourceVersion == observed[path: ["metadata", "resourceVersion"]]?.stringValue
        {
            return true
        }
        guard JSONSubset.holds(desired.body["metadata"] ?? [:], in: observed["metadata"]) else { return false }
        if desired.subresource == "status" {
            return JSONSubset.equal(desired.body["status"], observed["status"])
        }
        for (member, value) in desired.body.objectValue ?? [:]
        where !["apiVersion", "kind", "metadata"].contains(member) {
            guard JSONSubset.holds(value, in: observed[member]) else { return false }
        }
        return true
    }
}

/// Comparisons of a desired JSON body with what the server holds.
enum JSONSubset {
    /// Every member of `desired` is in `observed` with the same value; lists match element by
    /// element (same length), so the server's defaults inside list items do not count as changes.
    static func holds(_ desired: JSONValue, in observed: JSONValue?) -> Bool {
        guard let observed else { return false }
        switch (desired, observed) {
        case (.object(let wanted), .object(let have)):
            return wanted.allSatisfy { holds($0.value, in: have[$0.key]) }
        case (.array(let wanted), .array(let have)):
            return wanted.count == have.count && zip(wanted, have).allSatisfy { holds($0, in: $1) }
        default:
            return desired == observed
        }
    }

    /// Equal, with an absent value, `null`, an empty object and an empty list all meaning "nothing".
    static func equal(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        normalized(a) == normalized(b)
    }

    private static func normalized(_ value: JSONValue?) -> JSONValue? {
        switch value {
        case nil, .null?: return nil
        case .object(let members)?:
            let kept = members.compactMapValues { normalized($0) }
            return kept.isEmpty ? nil : .object(kept)
        case .array(let items)?:
            return items.isEmpty ? nil : .array(items.map { normalized($0) ?? .null })
        case let other?: return other
        }
    }
}
