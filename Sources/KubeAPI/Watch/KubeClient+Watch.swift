extension KubeClient {
    /// One watch connection: events after `resourceVersion` until the server ends the stream
    /// (at `timeoutSeconds`) or the consumer stops iterating. A plain HTTP error (410 among them)
    /// is thrown before the stream is returned; an `ERROR` event arrives as `.error`.
    ///
    /// Most callers want `watchStream`, which lists, resumes and re-lists on its own.
    public func watch<R: KubeResource>(
        _ type: R.Type,
        namespace: String? = nil,
        allNamespaces: Bool = false,
        labelSelector: LabelSelector? = nil,
        resourceVersion: String?,
        timeoutSeconds: Int? = nil,
        allowBookmarks: Bool = true
    ) async throws -> AsyncThrowingStream<WatchEvent<R>, any Error> {
        let path = R.descriptor.collectionPath(namespace: allNamespaces ? nil : resolve(namespace, for: R.self))
        var query: [(String, String)] = [("watch", "true")]
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        if allowBookmarks { query.append(("allowWatchBookmarks", "true")) }
        if let timeoutSeconds { query.append(("timeoutSeconds", String(timeoutSeconds))) }
        if let labelSelector, !labelSelector.requirements.isEmpty {
            query.append(("labelSelector", "\(labelSelector)"))
        }
        let response = try await openStream(path: path, query: query)

        let (events, continuation) = AsyncThrowingStream<WatchEvent<R>, any Error>.makeStream()
        let reader = Task {
            var splitter = EventLineSplitter()
            do {
                for try await piece in response.body {
                    for line in try splitter.feed(piece) {
                        continuation.yield(try WatchEvent<R>(line: line))
                    }
                }
                if splitter.hasPartialLine { throw WatchError.truncated() }
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in reader.cancel() }
        return events
    }

    /// List-then-watch that never gives up: see `WatchStream`.
    public func watchStream<R: KubeResource>(
        _ type: R.Type,
        namespace: String? = nil,
        allNamespaces: Bool = false,
        labelSelector: LabelSelector? = nil,
        policy: ReconnectPolicy = ReconnectPolicy()
    ) -> WatchStream<R> {
        WatchStream(
            client: self, namespace: namespace, allNamespaces: allNamespaces, labelSelector: labelSelector,
            policy: policy)
    }
}
