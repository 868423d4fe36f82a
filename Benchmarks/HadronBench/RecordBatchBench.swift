import CloudEvents
import HadronCore

/// Record batch encode/decode and CRC-32C throughput, release, single thread.
///
/// The workload is the publish path's common shape: a batch of 100 events with 1 KiB of data each and typical
/// attributes. "Event bytes" counts what the producer sent that the batch must carry: the data bytes plus, for
/// every attribute (context and extension), the UTF-8 bytes of its name and of its canonical string value. The
/// batch's own framing (header, lengths, tags) is not counted, so the figure is payload throughput.
func runRecordBatchBenchmarks() {
    let events = (0..<100).map { index in
        CloudEvent(
            id: "0d2b1c4e-6f7a-4b8c-9d0e-\(String(100_000_000_000 + index))",
            source: URIReference(unchecked: "https://shop.example.com/orders"),
            type: "com.example.order.created",
            datacontenttype: "application/json",
            time: Timestamp(unchecked: "2026-11-21T10:00:00.123456Z"),
            extensions: ["tenant": .string("acme"), "priority": .integer(3), "partitionkey": .string("c-\(index)")],
            data: [UInt8](repeating: UInt8(ascii: "x"), count: 1024))
    }
    let eventBytes = events.reduce(0) { total, event in
        total + (event.data?.count ?? 0)
            + event.attributes.reduce(0) { $0 + $1.name.utf8.count + $1.value.canonicalString.utf8.count }
    }

    let encodeRate = measureRate {
        for _ in 0..<20 { blackHole(RecordBatch.encode(events: events, receiveTime: 1_700_000_000_000)) }
        return 20 * eventBytes
    }
    BenchReport.line("recordbatch.encode", encodeRate / 1e9, "GB/s")

    let batch = RecordBatch.encode(events: events, receiveTime: 1_700_000_000_000)
    let decodeRate = measureRate {
        // Includes CRC verification, as a reader of untrusted bytes does.
        for _ in 0..<20 { blackHole(try! RecordBatch.decode(batch)) }
        return 20 * eventBytes
    }
    BenchReport.line("recordbatch.decode", decodeRate / 1e9, "GB/s")

    var generator = SystemRandomNumberGenerator()
    let block = (0..<(1 << 20)).map { _ in UInt8.random(in: 0...255, using: &generator) }
    let crcRate = block.withUnsafeBytes { bytes in
        measureRate {
            for _ in 0..<16 { blackHole(CRC32C.checksum(bytes)) }
            return 16 * bytes.count
        }
    }
    BenchReport.line("crc32c", crcRate / 1e9, "GB/s")
}
