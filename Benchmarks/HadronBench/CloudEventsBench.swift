import CloudEvents
import HTTPTypes

/// Decode throughput of the three HTTP modes, single thread (issue: foundation bar).
func runCloudEventsBenchmarks() {
    let data = Array(repeating: UInt8(ascii: "x"), count: 1024 - 2)
    var event = CloudEvent(
        id: "0d2b1c4e-6f7a-4b8c-9d0e-1f2a3b4c5d6e", source: try! URIReference("https://shop.example.com/orders"),
        type: "com.example.order.created", datacontenttype: "application/json",
        time: try! Timestamp("2026-11-21T10:00:00.123456Z"), extensions: ["tenant": .string("acme"), "priority": .integer(3)])
    // A 1 KiB JSON payload: an object with a long string member.
    event.data = Array("{\"note\":\"".utf8) + Array(data.prefix(1024 - 11)) + Array("\"}".utf8)
    let (binaryFields, binaryBody) = HTTPBinding.encodeBinary(event)
    let structured = JSONEventFormat.encode(event)
    let batch = JSONEventFormat.encodeBatch(Array(repeating: event, count: 100))

    if BenchFilter.selects("cloudevents.binary.decode") {
        let binaryRate = measureRate {
            var count = 0
            for _ in 0..<1000 {
                blackHole(try! HTTPBinding.decodeBinary(fields: binaryFields, body: binaryBody))
                count += 1
            }
            return count
        }
        BenchReport.line("cloudevents.binary.decode", binaryRate, "events/s")
    }

    if BenchFilter.selects("cloudevents.structured.decode") {
        let structuredRate = measureRate {
            for _ in 0..<1000 { blackHole(try! JSONEventFormat.decode(structured)) }
            return 1000
        }
        BenchReport.line("cloudevents.structured.decode", structuredRate, "events/s")
        BenchReport.line("cloudevents.structured.decode.bytes", structuredRate * Double(structured.count) / 1e6, "MB/s")
    }

    if BenchFilter.selects("cloudevents.batch.decode") {
        let batchRate = measureRate {
            for _ in 0..<10 { blackHole(try! JSONEventFormat.decodeBatch(batch)) }
            return 1000
        }
        BenchReport.line("cloudevents.batch.decode", batchRate, "events/s")
    }

    // The batches `publish.batch` sends: 100 small text events, the gateway's largest cost per request.
    if BenchFilter.selects("cloudevents.batch.decode.publish") {
        let publishBatch = Array(PublishBench.batchJSON(events: PublishBench.batchEvents, dataBytes: 256).utf8)
        let rate = measureRate {
            for _ in 0..<10 { blackHole(try! JSONEventFormat.decodeBatch(publishBatch)) }
            return 10 * PublishBench.batchEvents
        }
        BenchReport.line("cloudevents.batch.decode.publish", rate, "events/s")
    }

    if BenchFilter.selects("cloudevents.structured.encode") {
        let encodeRate = measureRate {
            for _ in 0..<1000 { blackHole(JSONEventFormat.encode(event)) }
            return 1000
        }
        BenchReport.line("cloudevents.structured.encode", encodeRate, "events/s")
    }
}
