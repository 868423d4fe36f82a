import Logging

/// A change to the collection a `WatchStream` follows.
public enum ResourceEvent<R: KubeResource>: Sendable {
    /// The complete collection after a (re)list: the state to replace any cache with. A watcher that
    /// had to re-list (its resourceVersion expired) learns here what it missed.
    case listed([R], resourceVersion: String?)
    case added(R)
    case modified(R)
    case deleted(R)
}

/// List-then-watch that keeps a collection current for as long as it is iterated.
///
/// - Lists (following `continue`), then watches from the list's resourceVersion with bookmarks.
/// - Remembers the resourceVersion of every event and bookmark; when the server ends the watch
///   (its `timeoutSeconds`), resumes from there at once, so nothing is delivered twice or lost.
/// - A resourceVersion too old to serve — HTTP 410, or a 200 stream with an `ERROR` event of code
///   410 — means re-list, then watch from the new list.
/// - Any other failure reconnects after exponential backoff with jitter (`ReconnectPolicy`).
/// - A watch that ends within a second having delivered nothing counts as a failure (client-go's
///   "very short watch"), so a misbehaving server is not hammered.
///
/// It ends only when the consumer stops iterating (or its task is cancelled), which aborts the
/// transfer at once, or when the configuration itself fails (an unreadable token file).
public struct WatchStream<R: KubeResource>: AsyncSequence, Sendable {
    public typealias Element = ResourceEvent<R>

    let client: KubeClient
    let namespace: String?
    let allNamespaces: Bool
    let labelSelector: LabelSelector?
    let policy: ReconnectPolicy

    public func makeAsyncIterator() -> AsyncThrowingStream<Element, any Error>.Iterator {
        events().makeAsyncIterator()
    }

    /// The events as an `AsyncThrowingStream`.
    public func events() -> AsyncThrowingStream<Element, any Error> {
        let (stream, continuation) = AsyncThrowingStream<Element, any Error>.makeStream()
        let task = Task { await run(continuation) }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private var logger: Logger { client.logger }

    private func run(_ continuation: AsyncThrowingStream<Element, any Error>.Continuation) async {
        var resourceVersion: String?
        var failures = 0
        let resource = R.descriptor.qualifiedName
        while !Task.isCancelled {
            do {
                if resourceVersion == nil {
                    let list = try await client.listAll(
                        R.self, namespace: namespace, allNamespaces: allNamespaces, labelSelector: labelSelector,
                        pageSize: policy.pageSize)
                    continuation.yield(.listed(list.items, resourceVersion: list.metadata.resourceVersion))
                    resourceVersion = list.metadata.resourceVersion
                    logger.debug(
                        "Listed",
                        metadata: [
                            "resource": "\(resource)", "count": "\(list.items.count)",
                            "resourceVersion": "\(resourceVersion ?? "")",
                        ])
                }
                let started = ContinuousClock.now
                var delivered = 0
                let events = try await client.watch(
                    R.self, namespace: namespace, allNamespaces: allNamespaces, labelSelector: labelSelector,
                    resourceVersion: resourceVersion, timeoutSeconds: Int.random(in: policy.watchTimeoutSeconds),
                    allowBookmarks: true)
                for try await event in events {
                    delivered += 1
                    switch event {
                    case .added(let object):
                        resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                        continuation.yield(.added(object))
                    case .modified(let object):
                        resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                        continuation.yield(.modified(object))
                    case .deleted(let object):
                        resourceVersion = object.metadata.resourceVersion ?? resourceVersion
                        continuation.yield(.deleted(object))
                    case .bookmark(let version):
                        resourceVersion = version
                    case .error(let status):
                        throw KubeAPIError(watchError: status, request: "watch \(resource)")
                    }
                    failures = 0
                }
                if delivered == 0, ContinuousClock.now - started < .seconds(1) {
                    throw WatchError.malformedEvent("very short watch: ended within a second without an event")
                }
                logger.debug(
                    "Watch ended; resuming",
                    metadata: ["resource": "\(resource)", "resourceVersion": "\(resourceVersion ?? "")"])
            } catch let error as KubeAPIError where error.isExpired {
                logger.info(
                    "Watch resourceVersion expired; re-listing",
                    metadata: ["resource": "\(resource)", "resourceVersion": "\(resourceVersion ?? "")"])
                resourceVersion = nil
                failures += 1
                // The first expiry re-lists at once; repeated ones back off.
                if failures > 1, !(await pause(afterFailures: failures - 1)) { break }
            } catch let error as KubeConfigError {
                continuation.finish(throwing: error)
                return
            } catch {
                if Task.isCancelled || error is CancellationError { break }
                failures += 1
                logger.warning(
                    "Watch failed; reconnecting",
                    metadata: ["resource": "\(resource)", "error": "\(error)", "attempt": "\(failures)"])
                if !(await pause(afterFailures: failures)) { break }
            }
        }
        continuation.finish()
    }

    /// Sleeps the backoff delay; false when cancelled meanwhile.
    private func pause(afterFailures failures: Int) async -> Bool {
        do {
            try await Task.sleep(for: policy.delay(afterFailures: failures))
            return true
        } catch {
            return false
        }
    }
}
