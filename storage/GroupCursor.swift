/// Where one consumer group stands in one partition: the committed offset and the one delivery in flight.
///
/// One outstanding range at a time keeps the group's events in order: nothing after it is offered until it is
/// acknowledged, and an expired or rejected range is offered again, whole, under a new delivery id (at-least-once).
/// A value type driven with explicit instants, so the lease rules are tested without clocks; the replica owns the
/// I/O (reading the range, persisting the committed offset) around it.
struct GroupCursor: Sendable {
    /// A leased range of offsets, both ends included.
    struct Delivery: Sendable, Hashable {
        let id: String
        let first: Int64
        let last: Int64
    }

    /// What the group may be given now.
    enum Offer: Sendable, Hashable {
        /// Nothing: a delivery is in flight (leased or being committed), or a rejected one is backing off.
        case busy
        /// The same range again, after its lease expired or its backoff ended.
        case redeliver(first: Int64, last: Int64)
        /// New events from this offset on.
        case next(from: Int64)
    }

    private enum Outstanding: Sendable, Hashable {
        case leased(Delivery, until: ContinuousClock.Instant)
        /// An ack is persisting the new committed offset; `until` is the lease to fall back to if that fails.
        case committing(Delivery, until: ContinuousClock.Instant)
        case backingOff(first: Int64, last: Int64, until: ContinuousClock.Instant)
    }

    /// The next offset the group has not acknowledged; durable (the replica persists it before acknowledging).
    private(set) var committedOffset: Int64
    private var outstanding: Outstanding?
    /// Nacks in a row of the same range; the default backoff doubles with each.
    private(set) var consecutiveNacks = 0

    init(committedOffset: Int64) {
        self.committedOffset = committedOffset
    }

    func offer(at now: ContinuousClock.Instant) -> Offer {
        switch outstanding {
        case nil: .next(from: committedOffset)
        case .leased(let delivery, let until):
            now < until ? .busy : .redeliver(first: delivery.first, last: delivery.last)
        case .committing: .busy
        case .backingOff(let first, let last, let until):
            now < until ? .busy : .redeliver(first: first, last: last)
        }
    }

    /// Leases `delivery` until `until`: the range returned by ``offer(at:)``, possibly shortened.
    mutating func lease(_ delivery: Delivery, until: ContinuousClock.Instant) {
        precondition(delivery.first <= delivery.last, "a delivery holds at least one offset")
        outstanding = .leased(delivery, until: until)
    }

    /// Drops an outstanding range that can no longer be read (retention deleted it): the group resumes from the
    /// log start. Returns whether there was one.
    @discardableResult
    mutating func abandonOutstanding() -> Bool {
        guard outstanding != nil else { return false }
        outstanding = nil
        consecutiveNacks = 0
        return true
    }

    /// Starts acknowledging delivery `id`: checks it is the current, unexpired lease and returns the offset to
    /// persist as committed. Until ``finishAcknowledging(_:)`` or ``abortAcknowledging(_:)``, nothing is offered.
    mutating func beginAcknowledging(_ id: String, at now: ContinuousClock.Instant) throws(ReplicaError) -> Int64 {
        let (delivery, until) = try currentLease(id, at: now)
        outstanding = .committing(delivery, until: until)
        return delivery.last + 1
    }

    /// The committed offset is durable: the delivery is done.
    mutating func finishAcknowledging(_ id: String) {
        guard case .committing(let delivery, _) = outstanding, delivery.id == id else { return }
        committedOffset = max(committedOffset, delivery.last + 1)
        outstanding = nil
        consecutiveNacks = 0
    }

    /// Persisting failed: the lease stands as it was, so the caller may ack again.
    mutating func abortAcknowledging(_ id: String) {
        guard case .committing(let delivery, let until) = outstanding, delivery.id == id else { return }
        outstanding = .leased(delivery, until: until)
    }

    /// Rejects delivery `id`: the same range is offered again once `backoff` has passed (when nil, `defaultBackoff`
    /// doubled for each earlier consecutive nack, at most 32 times it). Returns the backoff applied.
    @discardableResult
    mutating func reject(
        _ id: String, at now: ContinuousClock.Instant, backoff: Duration?, defaultBackoff: Duration
    ) throws(ReplicaError) -> Duration {
        let (delivery, _) = try currentLease(id, at: now)
        let applied = backoff ?? defaultBackoff * (1 << min(consecutiveNacks, 5))
        consecutiveNacks += 1
        outstanding = .backingOff(first: delivery.first, last: delivery.last, until: now + applied)
        return applied
    }

    private func currentLease(
        _ id: String, at now: ContinuousClock.Instant
    ) throws(ReplicaError) -> (Delivery, ContinuousClock.Instant) {
        switch outstanding {
        case .leased(let delivery, let until) where delivery.id == id:
            guard now < until else { throw .staleDelivery("delivery \(id) expired; its events will be redelivered") }
            return (delivery, until)
        case .committing(let delivery, _) where delivery.id == id:
            throw .staleDelivery("delivery \(id) is being acknowledged already")
        default:
            throw .staleDelivery("delivery \(id) is not the group's current delivery")
        }
    }
}
