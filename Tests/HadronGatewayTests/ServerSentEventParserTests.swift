import HadronGateway
import Testing

@Suite("Server-sent event parsing")
struct ServerSentEventParserTests {
    @Test("events split anywhere, even inside CR LF, come out whole")
    func splitAnywhere() {
        let text = "event: topology\r\ndata: {\"a\":1}\r\n\r\n: keep-alive\n\nid: 0-7\ndata: x\ndata: y\n\n"
        let bytes = Array(text.utf8)
        for cut in 0...bytes.count {
            var parser = ServerSentEventParser()
            let events = parser.feed(bytes[..<cut]) + parser.feed(bytes[cut...])
            #expect(
                events == [
                    ServerSentEvent(name: "topology", data: "{\"a\":1}"),
                    ServerSentEvent(name: nil, id: "0-7", data: "x\ny"),
                ], "cut at \(cut)")
        }
    }
}
