public import NIOCore

/// One server-sent event as received: its `event` name (nil for the default "message"), `id` and `data`.
public struct ServerSentEvent: Sendable, Hashable {
    public var name: String?
    public var id: String?
    public var data: String

    public init(name: String? = nil, id: String? = nil, data: String) {
        self.name = name
        self.id = id
        self.data = data
    }
}

/// Reassembles server-sent events (the WHATWG `text/event-stream` format) from chunks cut anywhere.
///
/// A watch's chunks follow the network, not the events: a line, even a CR LF pair, can be split between two
/// chunks, and a chunk can end inside a multi-byte character. So bytes are kept until their line is complete and
/// only whole lines are decoded.
public struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    private var sawCarriageReturn = false
    private var name: String?
    private var id: String?
    private var data: [UInt8] = []
    private var hasData = false

    public init() {}

    /// Feeds the next chunk and returns the events it completes.
    public mutating func feed(_ chunk: ByteBuffer) -> [ServerSentEvent] {
        chunk.withUnsafeReadableBytes { feed($0) }
    }

    /// Feeds the next chunk and returns the events it completes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if sawCarriageReturn {
                sawCarriageReturn = false
                if byte == 0x0A { continue }  // the LF of a CR LF pair
            }
            switch byte {
            case 0x0D:
                sawCarriageReturn = true
                if let event = endLine() { events.append(event) }
            case 0x0A:
                if let event = endLine() { events.append(event) }
            default:
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else { return dispatch() }
        guard line[0] != 0x3A else { return nil }  // a comment, such as `: keep-alive`
        let field: [UInt8]
        var value: ArraySlice<UInt8>
        if let colon = line.firstIndex(of: 0x3A) {
            field = Array(line[..<colon])
            value = line[(colon + 1)...]
            if value.first == 0x20 { value = value.dropFirst() }
        } else {
            field = line
            value = []
        }
        switch String(decoding: field, as: UTF8.self) {
        case "event": name = String(decoding: value, as: UTF8.self)
        case "id": id = String(decoding: value, as: UTF8.self)
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        default: break  // `retry` and unknown fields do not matter to Hadron's watches
        }
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            name = nil
            data.removeAll(keepingCapacity: true)
            hasData = false
        }
        guard hasData else { return nil }
        return ServerSentEvent(name: name, id: id, data: String(decoding: data, as: UTF8.self))
    }
}
