/// A partition leader's view of its followers at one epoch (DESIGN.md §6): how far each has fetched, which of them
/// count for the high watermark, and which ISR change the controller should record.
///
/// A value type with no I/O and an injected clock, so every rule is tested deterministically; the replica actor
/// owns one while it leads and feeds it appends, follower fetches, topology records and lag checks.
///
/// The rules, as in Kafka:
/// - A follower's fetch at offset `O` says it has written everything below `O`: its log end offset.
/// - The high watermark is the minimum log end over the leader and the **high-watermark set** — the recorded ISR
///   plus followers the leader is adding. It only grows, and does not move at all while that set is smaller than
///   `minInSyncReplicas` (no commit below the minimum).
/// - A follower is caught up when a fetch reaches the leader's log end as it was then (or the log end seen at its
///   previous fetch); one that has not been caught up for `lagLimit` is proposed for removal. The removal counts
///   only once the controller has recorded it (KIP-497): the controller may elect anyone it has on record as in
///   sync, so the leader must not commit past a recorded member before the record drops it.
/// - A follower outside the ISR whose log end reaches the high watermark is added, and counts at once: counting one
///   more replica can only make commits wait longer.
struct ReplicationState: Sendable {
    /// What the leader knows about one follower in this epoch.
    struct Follower: Sendable, Hashable {
        /// Nil until the follower fetched in this epoch: until then it holds the high watermark where it is.
        var logEndOffset: Int64?
        var lastCaughtUp: ContinuousClock.Instant
        var lastFetch: ContinuousClock.Instant?
        /// The leader's log end at the follower's previous fetch.
        var leaderLogEndAtLastFetch: Int64 = 0
    }

    let leader: String
    let epoch: Int32
    let lagLimit: Duration
    private(set) var replicas: [String]
    private(set) var recordedISR: Set<String>
    private(set) var minInSyncReplicas: Int
    /// Caught-up followers the leader is adding; they count for the high watermark at once.
    private(set) var additions: Set<String> = []
    /// Lagging recorded members the leader asked to remove; they count until the record drops them.
    private(set) var removals: Set<String> = []
    private(set) var followers: [String: Follower] = [:]
    /// The leader's own stored end: every batch below it is stored under the stream's durability policy.
    private(set) var leaderLogEnd: Int64
    private(set) var highWatermark: Int64

    /// Starts a term: every follower gets `lagLimit` from `now` to show up before it is proposed for removal.
    init(
        leader: String, epoch: Int32, replicas: [String], isr: [String], minInSyncReplicas: Int, leaderLogEnd: Int64,
        highWatermark: Int64, lagLimit: Duration, now: ContinuousClock.Instant
    ) {
        self.leader = leader
        self.epoch = epoch
        self.lagLimit = lagLimit
        self.replicas = replicas
        self.recordedISR = Set(isr)
        self.minInSyncReplicas = minInSyncReplicas
        self.leaderLogEnd = leaderLogEnd
        self.highWatermark = min(highWatermark, leaderLogEnd)
        for node in replicas where node != leader {
            followers[node] = Follower(lastCaughtUp: now)
        }
        recomputeHighWatermark()
    }

    /// The replicas the high watermark waits for, the leader included.
    var highWatermarkSet: Set<String> {
        recordedISR.union(additions).filter { followers[$0] != nil }.union([leader])
    }

    /// Whether enough replicas are in sync to commit (`|ISR| ≥ minInSyncReplicas`); appends are refused otherwise.
    var hasMinimumInSync: Bool { highWatermarkSet.count >= minInSyncReplicas }

    /// The ISR the controller should record, in replica order, or nil when the record already says it.
    var proposedISR: [String]? {
        let wanted = highWatermarkSet.subtracting(removals)
        guard wanted != recordedISR.union([leader]) else { return nil }
        return replicas.filter(wanted.contains)
    }

    /// The leader stored everything below `end`. Returns whether the high watermark moved.
    @discardableResult
    mutating func leaderStored(upTo end: Int64) -> Bool {
        leaderLogEnd = max(leaderLogEnd, end)
        return recomputeHighWatermark()
    }

    /// `node` fetched from `offset` while the leader's log ended at `logEnd`. Returns whether the high watermark
    /// moved. A node that is not a follower of this partition changes nothing.
    @discardableResult
    mutating func followerFetched(
        _ node: String, offset: Int64, leaderLogEnd logEnd: Int64, at now: ContinuousClock.Instant
    ) -> Bool {
        guard var follower = followers[node] else { return false }
        if offset >= logEnd {
            follower.lastCaughtUp = now
        } else if let previous = follower.lastFetch, offset >= follower.leaderLogEndAtLastFetch {
            follower.lastCaughtUp = max(follower.lastCaughtUp, previous)
        }
        follower.logEndOffset = offset
        follower.lastFetch = now
        follower.leaderLogEndAtLastFetch = logEnd
        followers[node] = follower
        if !highWatermarkSet.contains(node), offset >= highWatermark, now - follower.lastCaughtUp < lagLimit {
            additions.insert(node)
        }
        if removals.contains(node), now - follower.lastCaughtUp < lagLimit {
            removals.remove(node)
        }
        return recomputeHighWatermark()
    }

    /// Proposes the removal of every follower that has not been caught up for `lagLimit`. A follower still being
    /// added (not on record) stops counting at once; a recorded one counts until the record drops it.
    /// Returns whether the high watermark moved (dropping a lagging addition can release it).
    @discardableResult
    mutating func checkLag(at now: ContinuousClock.Instant) -> Bool {
        // A follower holding everything the leader stored is caught up now, however long its fetch has been parked.
        for (node, follower) in followers where follower.logEndOffset.map({ $0 >= leaderLogEnd }) == true {
            followers[node]!.lastCaughtUp = now
        }
        for (node, follower) in followers where now - follower.lastCaughtUp >= lagLimit {
            if additions.remove(node) != nil { continue }
            if recordedISR.contains(node) { removals.insert(node) }
        }
        return recomputeHighWatermark()
    }

    /// Takes the controller's record for this epoch. Returns whether the high watermark moved.
    @discardableResult
    mutating func record(
        replicas: [String], isr: [String], minInSyncReplicas: Int, at now: ContinuousClock.Instant
    ) -> Bool {
        self.replicas = replicas
        self.minInSyncReplicas = minInSyncReplicas
        recordedISR = Set(isr)
        additions.subtract(recordedISR)
        additions.formIntersection(replicas)
        removals.formIntersection(recordedISR)
        for node in replicas where node != leader && followers[node] == nil {
            followers[node] = Follower(lastCaughtUp: now)
        }
        for node in followers.keys where !replicas.contains(node) { followers[node] = nil }
        return recomputeHighWatermark()
    }

    @discardableResult
    private mutating func recomputeHighWatermark() -> Bool {
        guard hasMinimumInSync else { return false }
        var low = leaderLogEnd
        for node in highWatermarkSet where node != leader {
            guard let end = followers[node]?.logEndOffset else { return false }
            low = min(low, end)
        }
        guard low > highWatermark else { return false }
        highWatermark = low
        return true
    }
}
