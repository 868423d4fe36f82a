import Foundation
import HadronCore
import HadronHTTP
import HTTPTypes
import Hummingbird
import NIOCore

/// The routes of the storage double (docs/internal-api.md, storage node).
struct FakeStorageResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let state: FakeStorageState

    func respond(to request: Request, context: Context) async throws -> Response {
        // /internal/v1/streams/{s}/partitions/{p}/…
        let segments = request.uri.path.split(separator: "/").map(String.init)
        guard segments.count >= 7, segments[0] == "internal", segments[2] == "streams", segments[4] == "partitions",
            let partition = Int(segments[5])
        else { return problem(.notFound, "no route \(request.uri.path)") }
        let stream = segments[3]
        if request.method == .post, segments[6] == "records" { await state.countAppendRequest() }
        let epoch = await state.epoch
        let theirs = request.headers[HTTPField.Name("hadron-epoch")!].flatMap(Int32.init) ?? -1
        if theirs < epoch { return problem(.conflict, "stale epoch \(theirs)", members: ["epoch": "\(epoch)"]) }
        if theirs > epoch {
            return problem(.misdirectedRequest, "not the leader at \(theirs)", members: ["epoch": "\(epoch)"])
        }
        let body = try await request.body.collect(upTo: 64 << 20)
        switch (request.method, segments[6], segments.count) {
        case (.post, "records", 7):
            let delay = await state.appendDelay
            if delay > .zero { try await Task.sleep(for: delay) }
            do {
                let (base, last) = try await state.append(
                    Array(body.readableBytesView), stream: stream, partition: partition)
                return json("{\"baseOffset\":\(base),\"lastOffset\":\(last)}")
            } catch {
                return problem(.badRequest, "\(error)")
            }
        case (.get, "records", 7):
            await state.countFetchRequest()
            let query = request.uri.queryParameters
            let offset = query["offset"].flatMap { Int64($0) } ?? 0
            let maxBytes = query["maxBytes"].flatMap { Int($0) } ?? (1 << 20)
            let wait = query["wait"].flatMap { Int64($0) } ?? 0
            let deadline = ContinuousClock.now + .milliseconds(wait)
            while true {
                switch await state.fetch(stream: stream, partition: partition, offset: offset, maxBytes: maxBytes) {
                case .belowStart(let first):
                    return problem(.rangeNotSatisfiable, "below the log start", members: ["firstOffset": "\(first)"])
                case .records(let bytes, let highWatermark):
                    if bytes.isEmpty, ContinuousClock.now < deadline {
                        await state.waitForAppend(until: deadline)
                        continue
                    }
                    var headers = HTTPFields()
                    headers[.contentType] = "application/vnd.hadron.record-batch"
                    headers[HTTPField.Name("hadron-high-watermark")!] = String(highWatermark)
                    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
                }
            }
        case (.post, "groups", 9):
            let group = segments[7]
            let object =
                (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            switch segments[8] {
            case "lease":
                let max = (object["max"] as? Int) ?? 100
                let leaseMs = Int64((object["leaseMs"] as? Int) ?? 30_000)
                switch await state.lease(stream: stream, partition: partition, group: group, max: max, leaseMs: leaseMs)
                {
                case .nothing:
                    return Response(status: .noContent)
                case .leased(let lease, let bytes):
                    var headers = HTTPFields()
                    headers[.contentType] = "application/vnd.hadron.record-batch"
                    headers[HTTPField.Name("hadron-delivery")!] = lease.id
                    headers[HTTPField.Name("hadron-first-offset")!] = String(lease.first)
                    headers[HTTPField.Name("hadron-last-offset")!] = String(lease.last)
                    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
                }
            case "ack", "nack":
                let delivery = object["delivery"] as? String ?? ""
                let backoff = Int64((object["backoffMs"] as? Int) ?? 0)
                let settled = await state.settle(
                    stream: stream, partition: partition, group: group, delivery: delivery, ack: segments[8] == "ack",
                    backoffMs: backoff)
                return settled
                    ? Response(status: .noContent) : problem(.conflict, "delivery \(delivery) is not the current lease")
            default:
                break
            }
        default:
            break
        }
        return problem(.notFound, "no route \(request.uri.path)")
    }

    private func json(_ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A problem; member values that are all digits are written as numbers.
    private func problem(_ status: HTTPResponse.Status, _ detail: String, members: [String: String] = [:]) -> Response {
        var values: [String: ProblemValue] = [:]
        for (name, value) in members { values[name] = Int64(value).map(ProblemValue.integer) ?? .string(value) }
        let problem = ProblemDetails(status, detail, members: values)
        var headers = HTTPFields()
        headers[.contentType] = ProblemDetails.contentType
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: problem.body)))
    }
}
