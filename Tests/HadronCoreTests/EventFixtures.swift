import CloudEvents

/// Events that exercise every part of the record layout.
enum EventFixtures {
    static func minimal(_ id: String = "1") -> CloudEvent {
        CloudEvent(id: id, source: URIReference(unchecked: "/shop"), type: "com.example.order.created")
    }

    /// Every context attribute and every attribute type, with binary data.
    static var everything: CloudEvent {
        CloudEvent(
            id: "A234-1234-1234",
            source: URIReference(unchecked: "https://example.com/shop?x=1#frag"),
            type: "com.example.order.created",
            datacontenttype: "application/octet-stream",
            dataschema: URI(unchecked: "https://example.com/schemas/order.json"),
            subject: "orders/42",
            time: Timestamp(unchecked: "2024-05-01T12:34:56.789+02:00"),
            extensions: [
                "text": .string("hello"),
                "emptytext": .string(""),
                "count": .integer(-42),
                "min": .integer(.min),
                "max": .integer(.max),
                "zero": .integer(0),
                "yes": .boolean(true),
                "no": .boolean(false),
                "blob": .binary([0, 1, 2, 0xFF]),
                "emptyblob": .binary([]),
                "link": .uri(URI(unchecked: "urn:isbn:0451450523")),
                "ref": .uriReference(URIReference(unchecked: "../relative/path")),
                "when": .timestamp(Timestamp(unchecked: "1985-04-12T23:20:50.52Z")),
            ],
            data: [0x00, 0x01, 0xFE, 0xFF, 0x80, 0x7F]
        )
    }

    static var unicode: CloudEvent {
        CloudEvent(
            id: "ünïcödé-🚀",
            source: URIReference(unchecked: "/ソース"),
            type: "例え.イベント",
            subject: "Ωμέγα 𝄞",
            extensions: ["greeting": .string("こんにちは 👋🏽"), "partitionkey": .string("ключ")],
            data: Array("{\"emoji\":\"😀\"}".utf8)
        )
    }

    static func manyExtensions(_ count: Int) -> CloudEvent {
        var event = minimal("many")
        for index in 0..<count { event.extensions["ext\(index)"] = .integer(Int32(index * 1000 - 50_000)) }
        return event
    }

    /// A varied mix for batches of any size.
    static func mixed(_ count: Int) -> [CloudEvent] {
        (0..<count).map { index in
            var event: CloudEvent
            switch index % 5 {
            case 0: event = minimal()
            case 1: event = everything
            case 2: event = unicode
            case 3: event = manyExtensions(index % 17)
            default:
                event = minimal()
                event.data = []
            }
            event.id = "\(event.id)-\(index)"
            if index % 7 == 0 { event.data = [UInt8](repeating: UInt8(index & 0xFF), count: index % 300) }
            return event
        }
    }
}
