public import CloudEvents

/// One CloudEvent as the log holds it: where it sits and when the gateway received it.
///
/// The offset and receive time are not attributes of the event (the producer never sent them), so they travel
/// beside it; readers expose them as the position to resume from and the time to search by.
public struct EventRecord: Sendable, Hashable {
    /// The record's offset in its partition: the batch's base offset plus the record's position in the batch.
    public var offset: Int64
    /// The gateway's receive time, milliseconds since the Unix epoch.
    public var timestamp: Int64
    public var event: CloudEvent

    public init(offset: Int64, timestamp: Int64, event: CloudEvent) {
        self.offset = offset
        self.timestamp = timestamp
        self.event = event
    }
}
