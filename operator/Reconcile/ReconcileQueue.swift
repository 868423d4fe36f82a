/// What one reconciliation pass is about.
public enum ReconcileKey: Hashable, Sendable, CustomStringConvertible {
    case cluster(namespace: String, name: String)
    case stream(namespace: String, name: String)

    public var description: String {
        switch self {
        case .cluster(let namespace, let name): return "HadronCluster \(namespace)/\(name)"
        case .stream(let namespace, let name): return "Stream \(namespace)/\(name)"
        }
    }
}

/// The keys waiting for a pass, each at most once (client-go's work queue, without rate limits:
/// the controller adds backoff itself). A key that changes while its pass runs is queued again, so
/// no change is missed; one pass runs at a time, so passes over a key never overlap.
actor ReconcileQueue {
    enum Item {
        case key(ReconcileKey)
        /// Resumed when the worker reaches it: every key queued before it has had its pass.
        case barrier(CheckedContinuation<Void, Never>)
    }

    private var items: [Item] = []
    private var queued: Set<ReconcileKey> = []
    private var waiter: CheckedContinuation<Item?, Never>?
    private var open = false
    private var term = 0

    func add(_ key: ReconcileKey) {
        guard !queued.contains(key) else { return }
        queued.insert(key)
        push(.key(key))
    }

    /// Returns once every key queued so far has had its pass (or the term ended).
    func barrier() async {
        await withCheckedContinuation { continuation in
            guard open else { return continuation.resume() }
            push(.barrier(continuation))
        }
    }

    /// The next item; nil once closed.
    func next() async -> Item? {
        if !items.isEmpty { return take() }
        guard open else { return nil }
        return await withCheckedContinuation { waiter = $0 }
    }

    /// Starts a term: items may be taken. Returns the term's number, for `close`.
    func reopen() -> Int {
        open = true
        term += 1
        return term
    }

    /// Ends term `number` (if it is the current one): the worker's wait ends, barriers are released.
    /// Keys stay for the next term.
    func close(term number: Int) {
        guard number == term else { return }
        open = false
        waiter?.resume(returning: nil)
        waiter = nil
        var kept: [Item] = []
        for item in items {
            switch item {
            case .key: kept.append(item)
            case .barrier(let continuation): continuation.resume()
            }
        }
        items = kept
    }

    private func push(_ item: Item) {
        items.append(item)
        if let waiter {
            self.waiter = nil
            waiter.resume(returning: take())
        }
    }

    private func take() -> Item {
        let item = items.removeFirst()
        if case .key(let key) = item { queued.remove(key) }
        return item
    }
}
